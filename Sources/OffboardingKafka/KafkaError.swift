/// An error from librdkafka or from this layer's use of it.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Backing: Sendable, Hashable {
            case configuration, creation, produce, delivery, consume, fatal, closed, cluster, offsetStore
        }
        fileprivate let backing: Backing

        /// A librdkafka property was rejected.
        public static let configuration = Code(backing: .configuration)
        /// A client handle could not be created.
        public static let creation = Code(backing: .creation)
        /// A record could not be enqueued.
        public static let produce = Code(backing: .produce)
        /// The broker did not acknowledge a record in time, or refused it.
        public static let delivery = Code(backing: .delivery)
        /// Reading from the group failed.
        public static let consume = Code(backing: .consume)
        /// librdkafka raised a fatal error: the client must be recreated.
        public static let fatal = Code(backing: .fatal)
        /// The client was already closed.
        public static let closed = Code(backing: .closed)
        /// The mock cluster refused an operation.
        public static let cluster = Code(backing: .cluster)
        /// An offset could not be stored (usually: the partition is no longer assigned).
        public static let offsetStore = Code(backing: .offsetStore)

        public var description: String { "\(backing)" }
    }

    public var code: Code
    public var message: String
    /// librdkafka's `rd_kafka_resp_err_t`, when one was involved.
    public var rdKafkaCode: Int32?

    public init(code: Code, message: String, rdKafkaCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.rdKafkaCode = rdKafkaCode
    }

    public var description: String {
        "kafka \(code): \(message)" + (rdKafkaCode.map { " (rd_kafka_resp_err_t \($0))" } ?? "")
    }

    /// True when the broker or librdkafka refuses this record for good (too large, invalid);
    /// anything else (a broker down, a leader moving, a timeout) may pass when repeated.
    public var refusesRecordForGood: Bool {
        rdKafkaCode.map(RDKafkaError.refusesRecordForGood) ?? false
    }
}
