import Foundation
import OffboardingCore

/// What the HTTP API needs from the running service: the topics to write to, what has been read
/// from them, the PSA to re-read companies from, and the health of each part.
public protocol OffboardingBackend: Sendable {
    var psa: PSAKind { get }
    /// Per-request options fall back to these; `offboardedStatuses` holds the criteria.
    var defaults: OffboardingOptions { get }
    /// The operator's criteria, which a request may narrow but not widen.
    var policy: OffboardingPolicy { get }

    /// Puts the event on the events topic; returns once the broker has it.
    func submit(_ event: CompanyStatusChangedEvent) async throws
    /// Puts the decision on the approvals topic; returns once the broker has it.
    func submit(_ decision: ApprovalDecision) async throws

    /// The latest result for the event; `.notReady` until the results topic has been read.
    func latestResult(for eventID: String) -> HeldResult
    /// The approval as read from the approvals topic; nil when unknown.
    func approval(_ id: String) -> ApprovalRecord?
    /// The approvals waiting for a decision, oldest first; nil until the approvals topic has been read.
    func pendingApprovals() -> [ApprovalRecord]?
    /// The decision taken on a pending approval whose run has not written its final state yet.
    func decision(on approvalID: String) -> ApprovalDecision?
    /// The latest result of each of the `limit` events most recently published for, newest
    /// first; nil until the results topic has been read.
    func recentResults(limit: Int) -> [[UInt8]]?

    func findCompany(_ reference: ClientReference) async throws(PSAError) -> PSACompany

    /// What restoring the offboarding `eventID` would put back, from every result published for it.
    /// - Throws: `RestoreRefusal` when it is unknown or has nothing to undo; `BackendBusy` when
    ///   too many restores are being looked up; any other error when the results topic could not be read.
    func restorePlan(for eventID: String) async throws -> RestorePlan

    /// Ends a console session on every replica, until it would have expired anyway.
    func revokeSession(_ id: String, until: Date) async throws
    /// Whether a console session was ended by signing out.
    func isSessionRevoked(_ id: String) -> Bool

    /// Every metric of the process, in Prometheus' text format.
    func metricsExposition() -> [UInt8]

    func liveness() -> HealthCheck
    func readiness() async -> [String: HealthCheck]
}

public enum HeldResult: Sendable {
    case notReady
    case none
    case found([UInt8])
}

/// One part's health, as the probes report it.
public struct HealthCheck: Sendable, Hashable {
    public var ok: Bool
    public var detail: String

    public init(ok: Bool, detail: String) {
        self.ok = ok
        self.detail = detail
    }
}

/// The backend is doing as much of this work as it allows at once: answered 429 with `Retry-After`.
public struct BackendBusy: Error, Sendable {
    public var retryAfterSeconds: Int

    public init(retryAfterSeconds: Int) {
        self.retryAfterSeconds = retryAfterSeconds
    }
}
