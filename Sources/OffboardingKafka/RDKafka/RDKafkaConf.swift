import Crdkafka
import Logging
import Synchronization

/// Builds an `rd_kafka_conf_t` from string properties. Ownership of the handle passes to `rd_kafka_new`
/// on success; on any failure here it is destroyed before throwing.
enum RDKafkaConf {
    static func make(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .creation, message: "rd_kafka_conf_new failed")
        }
        // Sorted so that a conflicting pair always fails the same way.
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            var errstr = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = String(errorBuffer: errstr)
                throw KafkaError(code: .configuration, message: "property \(key): \(reason)")
            }
        }
        return conf
    }

    /// Creates the client; `rd_kafka_new` takes ownership of `conf` only when it succeeds.
    static func newClient(type: rd_kafka_type_t, conf: OpaquePointer) throws(KafkaError) -> OpaquePointer {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: .creation, message: String(errorBuffer: errstr))
        }
        return handle
    }
}

enum RDKafkaError {
    static func describe(_ err: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(err))
    }

    static func fatalError(of handle: OpaquePointer) -> KafkaError? {
        var errstr = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &errstr, errstr.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(code: .fatal, message: String(errorBuffer: errstr), rdKafkaCode: err.rawValue)
    }

    /// Converts (and destroys) an `rd_kafka_error_t`.
    static func consume(_ error: OpaquePointer?) -> KafkaError? {
        guard let error else { return nil }
        defer { rd_kafka_error_destroy(error) }
        return KafkaError(
            code: rd_kafka_error_is_fatal(error) != 0 ? .fatal : .consume,
            message: String(cString: rd_kafka_error_string(error)),
            rdKafkaCode: rd_kafka_error_code(error).rawValue
        )
    }
}

/// State shared with librdkafka's C callbacks through the handle's opaque pointer.
/// The owning client keeps it alive for as long as the handle exists.
class RDKafkaClientContext: @unchecked Sendable {
    // Immutable after init, so reading it from librdkafka's threads is safe.
    let logger: Logger
    /// Set once the client is shut down: what librdkafka still says (brokers going away) is noise.
    let quiet = Mutex(false)

    init(logger: Logger) {
        self.logger = logger
    }

    /// Routes librdkafka's own log lines into swift-log instead of stderr.
    static func installLogCallback(on conf: OpaquePointer, context: RDKafkaClientContext) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let context = Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
            let text = message.map { String(cString: $0) } ?? ""
            let facilityText = facility.map { String(cString: $0) } ?? ""
            // syslog levels: 0-3 error, 4 warning, 5-6 info/notice, 7 debug.
            let syslogLevel: Logger.Level =
                switch level {
                case 0...3: .error
                case 4: .warning
                case 5, 6: .info
                default: .debug
                }
            let swiftLevel = context.quiet.withLock { $0 } ? .debug : syslogLevel
            context.logger.log(level: swiftLevel, "\(text)", metadata: ["rdkafka.facility": "\(facilityText)"])
        }
    }
}

extension KafkaRecord {
    /// Copies a consumed message out of librdkafka's memory; the caller still destroys the message.
    /// - Parameter topics: topic names already read in this batch, by handle (a name longer than a
    ///   small string would otherwise be allocated for every record).
    init(copying message: UnsafePointer<rd_kafka_message_t>, topics: inout [OpaquePointer: String]) {
        let m = message.pointee
        let topic: String
        if let rkt = m.rkt {
            if let known = topics[rkt] {
                topic = known
            } else {
                topic = String(cString: rd_kafka_topic_name(rkt))
                topics[rkt] = topic
            }
        } else {
            topic = ""
        }
        let key: [UInt8]? = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        let value: [UInt8]? = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) }
        var headers: [KafkaHeader] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(message, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePointer: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: headerValue))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        self.init(
            topic: topic, partition: m.partition, offset: m.offset, key: key, value: value, headers: headers,
            timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        )
    }
}

extension String {
    /// Reads a NUL-terminated C error buffer filled in by librdkafka.
    init(errorBuffer: [CChar]) {
        let bytes = errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}

/// librdkafka's version, for start-up logs.
public enum RDKafkaVersion {
    public static var string: String { String(cString: rd_kafka_version_str()) }
}
