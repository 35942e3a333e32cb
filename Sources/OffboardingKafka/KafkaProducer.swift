import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent producer whose `send` returns once the broker has acknowledged the record.
///
/// Delivery reports are served by a dedicated thread that blocks in `rd_kafka_poll`, so no
/// cooperative-pool thread ever waits on librdkafka.
public final class KafkaProducer: Service, Sendable {
    public struct Configuration: Sendable {
        public var bootstrapServers: String
        /// Passed through to librdkafka; these win over the defaults below except `enable.idempotence`.
        public var properties: [String: String]
        /// How long shutdown waits for outstanding records.
        public var flushTimeout: Duration
        /// How often librdkafka reports the broker counters to `onStatistics`; nil for never.
        /// `statistics.interval.ms` in `properties` wins.
        public var statisticsInterval: Duration?
        /// Applied to every record before it is produced: the service signs its records here, so
        /// that no path that writes can forget to.
        public var seal: (@Sendable (inout KafkaOutgoingRecord) -> Void)?

        public init(bootstrapServers: String, properties: [String: String] = [:], flushTimeout: Duration = .seconds(10)) {
            self.bootstrapServers = bootstrapServers
            self.properties = properties
            self.flushTimeout = flushTimeout
        }

        var librdkafkaProperties: [String: String] {
            var result: [String: String] = [
                "bootstrap.servers": bootstrapServers,
                "linger.ms": "2",
                "message.timeout.ms": "60000",
            ]
            if let statisticsInterval {
                result["statistics.interval.ms"] = String(statisticsInterval.milliseconds)
            }
            result.merge(properties) { _, new in new }
            // The at-least-once pipeline relies on retries never reordering or duplicating results.
            result["enable.idempotence"] = "true"
            return result
        }
    }

    private enum State { case running, closing, closed }

    /// Every call on librdkafka; its handle is destroyed in `deinit`, after the poll thread stopped.
    private let client: RDKafkaProducerClient
    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex<State>(.running)
    private let poller = Mutex<PollerState>(PollerState())

    private struct PollerState {
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    public init(configuration: Configuration, logger: Logger, onStatistics: (@Sendable (KafkaBrokerCounters) -> Void)? = nil) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        client = try RDKafkaProducerClient(properties: configuration.librdkafkaProperties, logger: logger, onStatistics: onStatistics)
        startPoller()
    }

    private func startPoller() {
        let thread = Thread { [self] in
            while state.withLock({ $0 }) != .closed {
                client.poll(timeoutMs: 100)
            }
            // Serve the last reports before the handle goes away.
            client.poll(timeoutMs: 0)
            let waiter = poller.withLock { poller -> CheckedContinuation<Void, Never>? in
                poller.finished = true
                return poller.waiter
            }
            waiter?.resume()
        }
        thread.name = "psa-offboarder.kafka-producer-poll"
        thread.start()
    }

    deinit {
        // The poll thread holds `self` until `shutdown()` has stopped it, so the handle is idle here.
        client.destroy()
    }

    /// Produces one record and waits for the broker's acknowledgement (`acks=all`, idempotent).
    @discardableResult
    public func send(_ record: KafkaOutgoingRecord) async throws -> KafkaDeliveryReport {
        guard state.withLock({ $0 }) == .running else {
            throw KafkaError(code: .closed, message: "producer is shut down")
        }
        var record = record
        configuration.seal?(&record)
        return try await withCheckedThrowingContinuation { continuation in
            client.produce(record, continuation: continuation)
        }
    }

    /// The topic's partition count from the cluster's metadata.
    public func partitionCount(of topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> Int32 {
        let timeoutMs = Int32(clamping: timeout.components.seconds * 1000)
        let result: Result<Int32, KafkaError> = await withCheckedContinuation { continuation in
            // rd_kafka_metadata blocks: keep it off the cooperative pool.
            DispatchQueue.global().async { [client] in
                continuation.resume(returning: client.partitionCount(of: topic, timeoutMs: timeoutMs))
            }
        }
        return try result.get()
    }

    /// Waits for every outstanding record, then stops the poll thread. Idempotent.
    public func shutdown() async {
        let shouldFlush = state.withLock { state -> Bool in
            guard state == .running else { return false }
            state = .closing
            return true
        }
        guard shouldFlush else { return }
        let timeoutMs = Int32(clamping: configuration.flushTimeout.components.seconds * 1000)
        // rd_kafka_flush blocks: keep it off the cooperative pool.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [self] in
                if let failure = client.flush(timeoutMs: timeoutMs) {
                    logger.error(
                        "producer flush left records undelivered", metadata: ["kafka.error": "\(failure.error)", "kafka.outq": "\(failure.outstanding)"])
                }
                continuation.resume()
            }
        }
        state.withLock { $0 = .closed }
        // Wakes the poll thread out of its 100 ms wait, so that a short-lived producer (`run`,
        // `sweep`) does not spend that long on shutdown.
        client.wakePoll()
        client.context.quiet.withLock { $0 = true }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyDone = poller.withLock { poller -> Bool in
                if poller.finished { return true }
                poller.waiter = continuation
                return false
            }
            if alreadyDone { continuation.resume() }
        }
    }

    /// Runs until graceful shutdown, then flushes: place it before its users in a `ServiceGroup`
    /// so that it stops after them.
    public func run() async throws {
        await gracefulShutdownOrCancellation()
        await shutdown()
    }
}

/// Suspends until the task is cancelled or a graceful shutdown is triggered.
func gracefulShutdownOrCancellation() async {
    let (stream, continuation) = AsyncStream<Void>.makeStream()
    await withTaskCancellationOrGracefulShutdownHandler {
        for await _ in stream { break }
    } onCancelOrGracefulShutdown: {
        continuation.finish()
    }
}
