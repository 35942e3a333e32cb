import Foundation
import Logging

/// Runs one offboarding against a PSA: re-read the company, list its configurations, then preview,
/// hold for approval or deactivate them, and describe it all as an `OffboardingResult`. Never
/// throws: every failure is in the result.
public struct Offboarder: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// How many deactivation requests of one client run at once (on HaloPSA each carries a batch).
        public var maxConcurrentUpdates: Int
        public var scope: OffboardingScope
        /// Write the reason onto each deactivated configuration, on PSAs with a notes field.
        public var writeReasonToNotes: Bool
        /// How long an approval stays open.
        public var approvalLifetime: Duration
        /// The operator's criteria and approval rule, which every request is held to; nil only
        /// where there is no operator (a library caller that builds each request itself).
        public var policy: OffboardingPolicy?

        public static let defaultMaxConcurrentUpdates = 8
        public static let defaultApprovalLifetime: Duration = .seconds(72 * 3600)

        public init(
            maxConcurrentUpdates: Int = Self.defaultMaxConcurrentUpdates, scope: OffboardingScope = .init(), writeReasonToNotes: Bool = true,
            approvalLifetime: Duration = Self.defaultApprovalLifetime, policy: OffboardingPolicy? = nil
        ) {
            self.maxConcurrentUpdates = max(1, maxConcurrentUpdates)
            self.scope = scope
            self.writeReasonToNotes = writeReasonToNotes
            self.approvalLifetime = approvalLifetime
            self.policy = policy
        }
    }

    public let psa: any PSAClient
    public let configuration: Configuration
    let logger: Logger
    let now: @Sendable () -> Date
    let progress: @Sendable (RunProgress) -> Void

    /// - Parameter progress: called after each PSA call that returns, so that a long offboarding
    ///   shows it is moving, and as the writes go.
    public init(
        psa: any PSAClient, configuration: Configuration = .init(), logger: Logger, now: @escaping @Sendable () -> Date = Date.init,
        progress: @escaping @Sendable (RunProgress) -> Void = { _ in }
    ) {
        self.psa = psa
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.progress = progress
    }

    /// The same run with a progress callback.
    public func reportingProgress(to progress: @escaping @Sendable (RunProgress) -> Void) -> Offboarder {
        Offboarder(psa: psa, configuration: configuration, logger: logger, now: now, progress: progress)
    }

    /// A run's result; the configurations whose update failed in a way that may pass later
    /// (connection errors, timeouts, 429, 500, 502-504 after the in-process retries), which go to
    /// the retry topic; when the run waits for an approval, the approval to keep; and when the PSA
    /// could not be reached before anything was changed, that outage.
    public struct Outcome: Sendable {
        public var result: OffboardingResult
        public var retriable: [PSAItem]
        public var pendingApproval: ApprovalRecord?
        /// Set when the run failed before any change because the PSA could not be reached (not
        /// because it refused the request): the run is worth repeating as it is.
        public var outage: PSAError?
        /// Set when the client is not offboarded under the criteria: nothing was read past the company.
        public var notOffboarded: Bool
        /// The state before the offboarding of each `retriable` configuration, where it is known,
        /// for the retry request to carry.
        public var statesBefore: [String: OffboardingResult.PSAPrevious] = [:]
        /// The approval the run wrote under, for the retry request to carry.
        public var grant: RetryRequest.ApprovalGrant?

        public init(
            result: OffboardingResult, retriable: [PSAItem] = [], pendingApproval: ApprovalRecord? = nil, outage: PSAError? = nil,
            notOffboarded: Bool = false
        ) {
            self.result = result
            self.retriable = retriable
            self.pendingApproval = pendingApproval
            self.outage = outage
            self.notOffboarded = notOffboarded
        }
    }

    /// What a run is asked to do.
    public enum Job: Sendable {
        /// An offboarding of the request's client.
        case offboard(OffboardingRequest)
        /// Deactivates exactly these configurations again, for a retry request (attempt 2 and on),
        /// after checking that the client is still offboarded. `statesBefore` is each
        /// configuration's state before the offboarding as the first attempt listed it (this
        /// attempt's listing may show its own earlier write, applied but unanswered); `grant` is
        /// the approval the first attempt ran under. Scope, `scope.max_configs` and the approval
        /// rule hold for a retry as for any run: what the grant does not cover waits for an
        /// approval of its own.
        case retry(
            [PSAItem], for: OffboardingRequest, attempt: Int, statesBefore: [String: OffboardingResult.PSAPrevious] = [:],
            grant: RetryRequest.ApprovalGrant? = nil)
        /// Carries out an approved approval: exactly the listed configurations that still exist are
        /// deactivated; ones added since are not touched, ones gone since are reported.
        case execute(ApprovalRecord, ApprovalDecision)
    }

    /// A run planned up to its first write: either it ends there (a preview, an approval to wait
    /// for, nothing to do, a failure before any change), or it writes.
    public enum Planned: Sendable {
        case finished(Outcome)
        /// Keep `journal` before calling `write(_:)`, when there is one: a rerun after a crash in
        /// the middle of the writes then knows what they changed.
        case writes(WritePlan)
    }

    public func run(_ request: OffboardingRequest) async -> OffboardingResult {
        await runDetailed(request).result
    }

    /// Plans and writes with no journal (a library caller, the `run` command).
    public func runDetailed(_ request: OffboardingRequest) async -> Outcome {
        await perform(.offboard(request))
    }

    /// A retry request's run with no journal; see `Job.retry`.
    public func retry(
        _ configurations: [PSAItem], for request: OffboardingRequest, attempt: Int,
        statesBefore: [String: OffboardingResult.PSAPrevious] = [:], grant: RetryRequest.ApprovalGrant? = nil
    ) async -> Outcome {
        await perform(.retry(configurations, for: request, attempt: attempt, statesBefore: statesBefore, grant: grant))
    }

    /// An approved approval's run with no journal; see `Job.execute`.
    public func execute(_ approval: ApprovalRecord, decision: ApprovalDecision) async -> Outcome {
        await perform(.execute(approval, decision))
    }

    private func perform(_ job: Job) async -> Outcome {
        switch await plan(job) {
        case .finished(let outcome): outcome
        case .writes(let plan): await write(plan)
        }
    }

    /// The result of an approval that ends without changes: rejected, or expired before a decision.
    public func decline(_ approval: ApprovalRecord, state: ApprovalState, decision: ApprovalDecision?) -> OffboardingResult {
        var result = OffboardingResult(
            success: true, eventID: approval.eventID, trigger: approval.trigger, psa: approval.psa, clientID: approval.clientID,
            clientName: approval.clientName, timestamp: Timestamp.string(now()), dryRun: false, reason: approval.reason)
        let skipReason: OffboardingResult.SkipReason = state == .expired ? .approvalExpired : .approvalRejected
        result.configs = approval.configs.map {
            .init(configID: $0.configID, configName: $0.configName, status: .active, previousStatus: .active, action: .skipped, skipReason: skipReason)
        }
        result.statistics.configsFound = approval.configs.count
        result.statistics.configsSkipped = approval.configs.count
        result.warnings.append(
            state == .expired
                ? .init(code: .approvalExpired, message: "approval \(approval.approvalID) expired at \(approval.expiresAt) without a decision; nothing was changed")
                : .init(code: .approvalRejected, message: "approval \(approval.approvalID) was rejected by \(decision?.approver ?? "an approver"); nothing was changed"))
        result.approval = .init(
            id: approval.approvalID, state: state, expiresAt: approval.expiresAt, cause: approval.cause, approver: decision?.approver,
            comment: decision?.comment, decidedAt: decision.map { $0.decidedAt ?? Timestamp.string(now()) })
        return result
    }
}
