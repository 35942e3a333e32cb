/// What the operator decides and a request cannot loosen: the criteria that make a client
/// offboarded, and whether a run needs an approval. A request (API body, event options, retry or
/// approval record, `run` flags) may narrow the criteria to some of the configured statuses; it
/// widens them only where the operator allowed it (`criteria.allow_request_override`).
public struct OffboardingPolicy: Sendable, Hashable {
    /// `criteria.*`: what makes a client offboarded.
    public var criteria: OffboardingCriteria
    /// `criteria.allow_request_override`: a request may name statuses beyond the configured ones.
    public var allowRequestOverride: Bool
    /// `defaults.require_approval`: every run that would change something waits for an approval.
    public var requireApproval: Bool

    public init(criteria: OffboardingCriteria, allowRequestOverride: Bool = false, requireApproval: Bool = false) {
        self.criteria = criteria
        self.allowRequestOverride = allowRequestOverride
        self.requireApproval = requireApproval
    }

    public init(offboardedStatuses: [String], allowRequestOverride: Bool = false, requireApproval: Bool = false) {
        self.init(criteria: OffboardingCriteria(statuses: offboardedStatuses), allowRequestOverride: allowRequestOverride, requireApproval: requireApproval)
    }

    /// `criteria.offboarded_statuses`.
    public var offboardedStatuses: [String] { criteria.statuses }

    /// The statuses of `requested` that the configured criteria do not hold, when the operator did
    /// not allow widening; empty when the request may go ahead.
    public func widening(_ requested: [String]) -> [String] {
        guard !allowRequestOverride else { return [] }
        let configured = OffboardingOptions(offboardedStatuses: offboardedStatuses)
        return requested.filter { !configured.isOffboarded(status: $0) }
    }

    /// The refusal a request gets for `widened`.
    public static func refusal(_ widened: [String], configured: [String]) -> String {
        "offboarded_statuses \(widened) are not among the configured criteria \(configured); a request may only narrow them (criteria.allow_request_override is off)"
    }
}
