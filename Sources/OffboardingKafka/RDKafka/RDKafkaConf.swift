import Crdkafka

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
