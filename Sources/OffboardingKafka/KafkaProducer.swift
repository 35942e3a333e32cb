import Crdkafka
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

    /// Holds one record's continuation until its delivery report arrives.
    private final class DeliveryBox: @unchecked Sendable {
        // Written once before produce, resumed exactly once by the delivery callback.
        let continuation: CheckedContinuation<KafkaDeliveryReport, any Error>
        let topic: String
        init(_ continuation: CheckedContinuation<KafkaDeliveryReport, any Error>, topic: String) {
            self.continuation = continuation
            self.topic = topic
        }
    }

    private enum State { case running, closing, closed }

    final class Context: RDKafkaClientContext, @unchecked Sendable {
        // Immutable after init.
        let onStatistics: (@Sendable (KafkaBrokerCounters) -> Void)?

        init(logger: Logger, onStatistics: (@Sendable (KafkaBrokerCounters) -> Void)?) {
            self.onStatistics = onStatistics
            super.init(logger: logger)
        }
    }

    // The handle is thread-safe per librdkafka; the context must outlive it, so it is kept here.
    private nonisolated(unsafe) let handle: OpaquePointer
    private let context: Context
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
        let context = Context(logger: logger, onStatistics: onStatistics)
        self.context = context
        let conf = try RDKafkaConf.make(configuration.librdkafkaProperties)
        RDKafkaClientContext.installLogCallback(on: conf, context: context)
        if onStatistics != nil {
            rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
                guard let json, let opaque else { return 0 }
                let context = Unmanaged<Context>.fromOpaque(opaque).takeUnretainedValue()
                if let counters = KafkaBrokerCounters.parse(UnsafeRawBufferPointer(start: json, count: length)) { context.onStatistics?(counters) }
                // 0: librdkafka frees the JSON.
                return 0
            }
        }
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            let box = Unmanaged<DeliveryBox>.fromOpaque(opaque).takeRetainedValue()
            let m = message.pointee
            if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                box.continuation.resume(returning: KafkaDeliveryReport(topic: box.topic, partition: m.partition, offset: m.offset))
            } else {
                box.continuation.resume(
                    throwing: KafkaError(
                        code: .delivery, message: "\(box.topic): \(RDKafkaError.describe(m.err))", rdKafkaCode: m.err.rawValue))
            }
        }
        self.handle = try RDKafkaConf.newClient(type: RD_KAFKA_PRODUCER, conf: conf)
        startPoller()
    }

    private func startPoller() {
        let thread = Thread { [self] in
            while state.withLock({ $0 }) != .closed {
                rd_kafka_poll(handle, 100)
            }
            // Serve the last reports before the handle goes away.
            rd_kafka_poll(handle, 0)
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
        rd_kafka_destroy(handle)
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
            let box = Unmanaged.passRetained(DeliveryBox(continuation, topic: record.topic))
            let headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                if let value = header.value {
                    value.withUnsafeBytes { _ = rd_kafka_header_add(headers, header.key, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
                }
            }
            let err = Self.withOptionalBytes(record.key) { keyPointer, keyLength in
                Self.withOptionalBytes(record.value) { valuePointer, valueLength in
                    psa_rdkafka_produce(
                        handle, record.topic, record.partition ?? RD_KAFKA_PARTITION_UA,
                        keyPointer, keyLength, valuePointer, valueLength, headers, box.toOpaque())
                }
            }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                rd_kafka_headers_destroy(headers)
                box.release()
                continuation.resume(
                    throwing: KafkaError(
                        code: .produce, message: "\(record.topic): \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue))
            }
        }
    }

    private static func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
        guard let bytes else { return body(nil, 0) }
        return bytes.withUnsafeBytes { body($0.baseAddress, $0.count) }
    }

    /// The topic's partition count from the cluster's metadata.
    public func partitionCount(of topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> Int32 {
        let timeoutMs = Int32(clamping: timeout.components.seconds * 1000)
        let result: Result<Int32, KafkaError> = await withCheckedContinuation { continuation in
            // rd_kafka_metadata blocks: keep it off the cooperative pool.
            DispatchQueue.global().async { [self] in
                guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
                    continuation.resume(returning: .failure(KafkaError(code: .consume, message: "cannot name topic \(topic)")))
                    return
                }
                defer { rd_kafka_topic_destroy(topicHandle) }
                var metadata: UnsafePointer<rd_kafka_metadata>?
                let err = rd_kafka_metadata(handle, 0, topicHandle, &metadata, timeoutMs)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                    continuation.resume(
                        returning: .failure(KafkaError(code: .consume, message: "metadata of \(topic): \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue)))
                    return
                }
                defer { rd_kafka_metadata_destroy(metadata) }
                let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
                guard let entry = topics.first, entry.err == RD_KAFKA_RESP_ERR_NO_ERROR, entry.partition_cnt > 0 else {
                    let topicErr = topics.first?.err ?? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                    continuation.resume(
                        returning: .failure(KafkaError(code: .consume, message: "topic \(topic): \(RDKafkaError.describe(topicErr))", rdKafkaCode: topicErr.rawValue)))
                    return
                }
                continuation.resume(returning: .success(Int32(entry.partition_cnt)))
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
                let err = rd_kafka_flush(handle, timeoutMs)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.error(
                        "producer flush left records undelivered",
                        metadata: ["kafka.error": "\(RDKafkaError.describe(err))", "kafka.outq": "\(rd_kafka_outq_len(handle))"])
                }
                continuation.resume()
            }
        }
        state.withLock { $0 = .closed }
        // Wakes the poll thread out of its 100 ms wait, so that a short-lived producer (`run`,
        // `sweep`) does not spend that long on shutdown. `rd_kafka_yield` only stops a dispatcher
        // from inside a callback; yielding the main queue, which `rd_kafka_poll` waits on, wakes it
        // from another thread.
        if let main = rd_kafka_queue_get_main(handle) {
            rd_kafka_queue_yield(main)
            rd_kafka_queue_destroy(main)
        }
        context.quiet.withLock { $0 = true }
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
