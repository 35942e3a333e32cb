/// A record read from Kafka.
public struct KafkaRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch, when the broker reported one.
    public var timestampMilliseconds: Int64?

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestampMilliseconds: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    public var keyString: String? { key.flatMap { String(validating: $0, as: UTF8.self) } }

    /// The headers as the event decoder takes them: the last value per lower-cased name.
    public var headerStrings: [String: String] {
        var headers: [String: String] = [:]
        for header in self.headers { headers[header.key.lowercased()] = header.stringValue }
        return headers
    }
}

/// A record to produce.
public struct KafkaOutgoingRecord: Sendable, Hashable {
    public var topic: String
    /// nil lets librdkafka's partitioner choose (by key hash when there is a key).
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, key: String?, value: [UInt8]?, headers: [KafkaHeader] = []) {
        self.init(topic: topic, partition: nil, key: key.map { Array($0.utf8) }, value: value, headers: headers)
    }
}

/// Where the broker put a produced record.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}
