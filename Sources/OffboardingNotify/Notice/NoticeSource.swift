import OffboardingCore

/// What notices are made from: records the service has already published (a result, an
/// approval's state, a dead letter), so a notice is never sent for something that was not.
public enum NoticeSource: Sendable, Hashable {
    case result(OffboardingResult)
    case approval(ApprovalRecord)
    case deadLetter(DeadLetter)

    /// A record on the dead-letter topic, as its headers describe it.
    public struct DeadLetter: Sendable, Hashable {
        /// `dlq.error.code`.
        public var code: String
        /// `dlq.reason`.
        public var reason: String
        /// The record key: a company id for the pipeline's own records.
        public var key: String?
        /// `dlq.source.topic`.
        public var sourceTopic: String?
        /// Where the dead letter itself lies (`topic/partition/offset`): what makes its notice unique.
        public var position: String
        /// RFC 3339; when the dead letter was read, for want of a stamp on it.
        public var seenAt: String

        public init(code: String, reason: String, key: String?, sourceTopic: String?, position: String, seenAt: String) {
            self.code = code
            self.reason = reason
            self.key = key
            self.sourceTopic = sourceTopic
            self.position = position
            self.seenAt = seenAt
        }
    }
}
