import Foundation

/// What librdkafka's statistics count of a client's trouble with the brokers, summed over its
/// broker connections (STATISTICS.md `brokers.*.txretries` and `disconnects`). librdkafka rides
/// out retriable errors and lost connections without telling the application; these counters are
/// how an operator, or a test, sees that it did.
public struct KafkaBrokerCounters: Sendable, Hashable {
    /// Requests sent again after a retriable error answer or a lost connection.
    public var requestRetries: Int64
    /// Connections to a broker lost.
    public var disconnects: Int64

    public init(requestRetries: Int64 = 0, disconnects: Int64 = 0) {
        self.requestRetries = requestRetries
        self.disconnects = disconnects
    }

    init(_ brokers: [String: Broker]?) {
        self.init()
        for broker in (brokers ?? [:]).values {
            requestRetries += broker.txretries ?? 0
            disconnects += broker.disconnects ?? 0
        }
    }

    /// Reads a statistics JSON for its broker counters only (a producer's).
    static func parse(_ json: UnsafeRawBufferPointer) -> KafkaBrokerCounters? {
        (try? JSONDecoder().decode(Document.self, from: Data(json))).map { KafkaBrokerCounters($0.brokers) }
    }

    private struct Document: Decodable {
        var brokers: [String: Broker]?
    }

    // The names are librdkafka's (STATISTICS.md).
    struct Broker: Decodable {
        var txretries: Int64?
        var disconnects: Int64?
    }
}
