/// One record header. Kafka allows a header without a value, so `value` is optional.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }

    /// The value read as UTF-8, or nil when absent or not valid UTF-8.
    public var stringValue: String? {
        value.flatMap { String(validating: $0, as: UTF8.self) }
    }
}

extension Array where Element == KafkaHeader {
    /// The last header with this key (Kafka allows repeats; the last one wins, as in most clients).
    public func last(named key: String) -> KafkaHeader? {
        self.last { $0.key == key }
    }
}
