import Crdkafka
import Foundation
import Logging
import Synchronization

/// A producer's librdkafka handle and every call made on it, with the delivery-report and
/// statistics callbacks. `KafkaProducer` decides when each call is made and keeps blocking ones
/// off the cooperative pool.
final class RDKafkaProducerClient: @unchecked Sendable {
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

    final class Context: RDKafkaClientContext, @unchecked Sendable {
        // Immutable after init.
        let onStatistics: (@Sendable (KafkaBrokerCounters) -> Void)?

        init(logger: Logger, onStatistics: (@Sendable (KafkaBrokerCounters) -> Void)?) {
            self.onStatistics = onStatistics
            super.init(logger: logger)
        }
    }

    // The handle is thread-safe per librdkafka; the context must outlive it, so it is kept here.
    private let handle: OpaquePointer
    let context: Context

    init(properties: [String: String], logger: Logger, onStatistics: (@Sendable (KafkaBrokerCounters) -> Void)?) throws(KafkaError) {
        let context = Context(logger: logger, onStatistics: onStatistics)
        self.context = context
        let conf = try RDKafkaConf.make(properties)
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
    }

    /// Serves delivery reports and statistics for up to `timeoutMs`.
    func poll(timeoutMs: Int32) {
        rd_kafka_poll(handle, timeoutMs)
    }

    /// Enqueues the record; its delivery report resumes `continuation`, or it is resumed now with
    /// the error that kept the record from being queued.
    func produce(_ record: KafkaOutgoingRecord, continuation: CheckedContinuation<KafkaDeliveryReport, any Error>) {
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
                throwing: KafkaError(code: .produce, message: "\(record.topic): \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue))
        }
    }

    private static func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
        guard let bytes else { return body(nil, 0) }
        return bytes.withUnsafeBytes { body($0.baseAddress, $0.count) }
    }

    /// The topic's partition count from the cluster's metadata; blocks for a broker round trip.
    func partitionCount(of topic: String, timeoutMs: Int32) -> Result<Int32, KafkaError> {
        guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
            return .failure(KafkaError(code: .consume, message: "cannot name topic \(topic)"))
        }
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, topicHandle, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            return .failure(KafkaError(code: .consume, message: "metadata of \(topic): \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue))
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        guard let entry = topics.first, entry.err == RD_KAFKA_RESP_ERR_NO_ERROR, entry.partition_cnt > 0 else {
            let topicErr = topics.first?.err ?? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
            return .failure(KafkaError(code: .consume, message: "topic \(topic): \(RDKafkaError.describe(topicErr))", rdKafkaCode: topicErr.rawValue))
        }
        return .success(Int32(entry.partition_cnt))
    }

    /// Waits for every outstanding record; blocks. Nil when all were delivered, else why not and
    /// how many are left.
    func flush(timeoutMs: Int32) -> (error: String, outstanding: Int32)? {
        let err = rd_kafka_flush(handle, timeoutMs)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return (RDKafkaError.describe(err), rd_kafka_outq_len(handle))
    }

    /// Wakes a `poll` waiting on the main queue from another thread (`rd_kafka_yield` only stops a
    /// dispatcher from inside a callback).
    func wakePoll() {
        if let main = rd_kafka_queue_get_main(handle) {
            rd_kafka_queue_yield(main)
            rd_kafka_queue_destroy(main)
        }
    }

    func destroy() {
        rd_kafka_destroy(handle)
    }
}
