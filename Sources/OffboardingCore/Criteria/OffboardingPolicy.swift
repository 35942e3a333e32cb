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
    /// `defaults.dry_run`: what a record that does not say (an approval or a retry request written
    /// before they carried it) runs as.
    public var dryRun: Bool

    public init(criteria: OffboardingCriteria, allowRequestOverride: Bool = false, requireApproval: Bool = false, dryRun: Bool = false) {
        self.criteria = criteria
        self.allowRequestOverride = allowRequestOverride
        self.requireApproval = requireApproval
        self.dryRun = dryRun
    }

    public init(offboardedStatuses: [String], allowRequestOverride: Bool = false, requireApproval: Bool = false, dryRun: Bool = false) {
        self.init(
            criteria: OffboardingCriteria(statuses: offboardedStatuses), allowRequestOverride: allowRequestOverride, requireApproval: requireApproval,
            dryRun: dryRun)
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

    /// Why a request naming `requested` as its offboarded statuses may not run; nil when it may.
    /// Widening is refused unless the operator allowed it; an empty list is refused always where
    /// statuses are configured, since it would turn the status criterion off (under `match: all`,
    /// any client whose other criteria hold would be offboarded whatever its status).
    public func refusal(of requested: [String]) -> String? {
        if requested.isEmpty, !offboardedStatuses.isEmpty {
            return "offboarded_statuses is empty, which would turn off the configured status criterion \(offboardedStatuses); name at least one of them"
        }
        let widened = widening(requested)
        guard !widened.isEmpty else { return nil }
        return "offboarded_statuses \(widened) are not among the configured criteria \(offboardedStatuses); a request may only narrow them (criteria.allow_request_override is off)"
    }
}
