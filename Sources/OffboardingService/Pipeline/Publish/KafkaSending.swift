import Logging
import OffboardingKafka

/// The rule for sending one record: repeat while the broker may still take it, give up on a record
/// it refuses for good, stop trying when the pipeline stops (or, for a manual command, when its
/// patience runs out).
struct KafkaSending: Sendable {
    enum Sent {
        case published
        /// The pipeline is stopping: the record's outcome is not final.
        case stopping
        /// The broker or librdkafka refuses this record for good (too large, invalid).
        case rejected(KafkaError)
        /// A manual command's patience ran out on this failure.
        case gaveUp(any Error)
    }

    let producer: KafkaProducer
    let stopSignal: StopSignal
    let statistics: PipelineStatistics
    /// How long a transient failure is repeated; nil for as long as it takes (the service).
    let patience: Duration?

    /// Sends until the broker acknowledges; transient failures (a broker down) are repeated with
    /// back-off, a permanent refusal after a few attempts is returned.
    func send(_ record: KafkaOutgoingRecord, logger: Logger) async -> Sent {
        let deadline = patience.map { ContinuousClock.now + $0 }
        var delay = Duration.milliseconds(100)
        var refusals = 0
        while true {
            do {
                try await producer.send(record)
                return .published
            } catch let error as KafkaError where error.refusesRecordForGood {
                refusals += 1
                if refusals >= 3 { return .rejected(error) }
                logger.warning("publish refused; trying again", metadata: ["kafka.topic": "\(record.topic)", "kafka.error": "\(error)"])
            } catch {
                if let deadline, ContinuousClock.now + delay > deadline { return .gaveUp(error) }
                logger.error("publish failed; retrying", metadata: ["kafka.topic": "\(record.topic)", "kafka.error": "\(error)"])
            }
            statistics.update { $0.publishRetries += 1 }
            guard await stopSignal.sleep(for: delay) else { return .stopping }
            delay = min(delay * 2, .seconds(5))
        }
    }
}
