/// A record of one of the topics the service consumes, decoded once where it is read, with what
/// the admission decision needs to know about where it came from.
public struct InboundRecord: Sendable {
    /// Which topic the record was read from.
    public enum Origin: Sendable, Hashable {
        case events
        /// The service's own retry topic: retry requests, and events and decisions moved there after an outage.
        case retry
        /// The service's own approvals topic: states, decisions, run journals and sign-outs.
        case approvals
    }

    public enum Content: Sendable {
        case event(CompanyStatusChangedEvent)
        /// Configurations whose update failed transiently (schemas/retry-request.schema.json).
        case retryRequest(RetryRequest)
        case decision(ApprovalDecision)
        /// An approval state, a run journal, a sign-out or a tombstone: only the approvals store reads them.
        case bookkeeping
        /// Not a record the service understands: why, as a dead letter says it.
        case invalid(OffboardingErrorCode, String)
    }

    public var origin: Origin
    public var content: Content
    /// The attempt the record asks for: 1 on the events and approvals topics, `retry.attempt` on the retry topic.
    public var attempt: Int
    /// Whether it carries a valid signature of this service (`security.signing_keys`).
    public var signed: Bool

    public init(origin: Origin, content: Content, attempt: Int = 1, signed: Bool) {
        self.origin = origin
        self.content = content
        self.attempt = attempt
        self.signed = signed
    }

    /// The event id the record is about, for logs.
    public var eventID: String? {
        switch content {
        case .event(let event): event.id
        case .retryRequest(let retry): retry.eventID
        case .decision, .bookkeeping, .invalid: nil
        }
    }
}
