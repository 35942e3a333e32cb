import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// What the pipeline sends to Kafka, and the rule for sending it: repeat while the broker may
/// still take it, give up on a record it refuses for good, stop trying when the pipeline stops.
extension OffboardingPipeline {
    enum PublishOutcome {
        case published
        /// The pipeline is stopping: the record's outcome is not final and its offset must not be stored.
        case stopping
        /// The broker or librdkafka refuses this record for good (too large, invalid).
        case rejected(KafkaError)
    }

    /// Sends until the broker acknowledges; transient failures (a broker down) are repeated with
    /// back-off for as long as it takes, a permanent refusal after a few attempts is returned.
    func publish(_ record: KafkaOutgoingRecord, logger: Logger) async -> PublishOutcome {
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
                logger.error("publish failed; retrying", metadata: ["kafka.topic": "\(record.topic)", "kafka.error": "\(error)"])
            }
            statistics.update { $0.publishRetries += 1 }
            guard await stopSignal.sleep(for: delay) else { return .stopping }
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// The headers of every result and approval this pipeline publishes, with the trace of the
    /// work that publishes it.
    func publishedHeaders(eventID: String, source: String?) -> [KafkaHeader] {
        [
            KafkaHeader(key: "content-type", string: "application/json"),
            KafkaHeader(key: "offboarding.event.id", string: eventID),
            KafkaHeader(key: "offboarding.instance", string: configuration.instanceID),
        ] + (source.map { [KafkaHeader(key: ResultLedger.sourceHeader, string: $0)] } ?? []) + RecordTracing.outgoingHeaders
    }

    /// schemas/dead-letter-headers.md: the code, the reason and where the record was read.
    func deadLetterHeaders(code: OffboardingErrorCode, reason: String, source: KafkaRecord) -> [KafkaHeader] {
        [
            KafkaHeader(key: "dlq.error.code", string: code.rawValue),
            KafkaHeader(key: "dlq.reason", string: reason),
            KafkaHeader(key: "dlq.source.topic", string: source.topic),
            KafkaHeader(key: "dlq.source.partition", string: String(source.partition)),
            KafkaHeader(key: "dlq.source.offset", string: String(source.offset)),
        ] + RecordTracing.outgoingHeaders
    }

    /// Puts the record as it was read on the dead-letter topic with the reason, and finishes it.
    func deadLetter(_ work: Work, code: OffboardingErrorCode, reason: String, logger: Logger) async {
        let record = work.record
        var outgoing = KafkaOutgoingRecord(
            topic: configuration.topics.deadLetter, partition: nil, key: record.key, value: record.value,
            headers: record.headers.filter { $0.key != "traceparent" } + deadLetterHeaders(code: code, reason: reason, source: record))
        var attempt = 0
        while true {
            switch await publish(outgoing, logger: logger) {
            case .published:
                statistics.update { $0.deadLettered += 1 }
                complete(work, logger: logger)
                return
            case .stopping:
                return
            case .rejected(let error):
                // Even the dead letter is refused (an input larger than the broker accepts): keep the
                // key and reason, drop the value, so the record is still accounted for.
                attempt += 1
                guard attempt == 1, outgoing.value != nil else {
                    logger.critical("dead letter refused; the record stays unacknowledged", metadata: ["kafka.error": "\(error)"])
                    guard await stopSignal.sleep(for: .seconds(30)) else { return }
                    continue
                }
                outgoing.value = nil
                outgoing.headers.append(KafkaHeader(key: "dlq.value.dropped", string: "\(error)"))
            }
        }
    }
}
