/// A stable error code that appears on the wire (results, dead-letter headers). New codes may be
/// added; existing ones never change meaning, and an unknown code still decodes.
public struct OffboardingErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static let clientNotFound = Self(rawValue: "ClientNotFound")
    /// The client has no configurations: a warning, not a failure.
    public static let configNotFound = Self(rawValue: "ConfigNotFound")
    public static let configUpdateFailed = Self(rawValue: "ConfigUpdateFailed")
    public static let permissionDenied = Self(rawValue: "PermissionDenied")
    public static let psaConnectionError = Self(rawValue: "PSAConnectionError")
    /// Dead-letter reason: the record could not be decoded or validated.
    public static let invalidEvent = Self(rawValue: "InvalidEvent")
    /// Dead-letter reason: the event names another PSA than the one this consumer serves.
    public static let psaMismatch = Self(rawValue: "PSAMismatch")
    /// Dead-letter reason: the record was processed but its outcome could not be published (for
    /// example a result larger than the broker accepts), after bounded attempts.
    public static let processingFailed = Self(rawValue: "ProcessingFailed")
    /// Dead-letter reason: a record on the service's own topics (retry, approvals) or a restore
    /// request without a valid signature of the service; nothing was done with it.
    public static let unauthenticatedRecord = Self(rawValue: "UnauthenticatedRecord")
    /// Warning: the client's current status in the PSA is not an offboarded one, so nothing was touched.
    public static let clientNotOffboarded = Self(rawValue: "ClientNotOffboarded")
    /// Warning: changes wait for an approval.
    public static let approvalRequired = Self(rawValue: "ApprovalRequired")
    /// Warning: more configurations than `scope.max_configs` would change, so the run waits for an
    /// approval although none was asked for.
    public static let blastRadiusExceeded = Self(rawValue: "BlastRadiusExceeded")
    /// Warning: configurations whose type is out of `scope` were left as they are.
    public static let outOfScope = Self(rawValue: "OutOfScope")
    /// Warning: the approval was rejected, or expired before a decision; nothing was changed.
    public static let approvalRejected = Self(rawValue: "ApprovalRejected")
    public static let approvalExpired = Self(rawValue: "ApprovalExpired")
    /// Warning: a configuration listed or retried for a client belongs to another client (or to
    /// none the PSA names); it is never written.
    public static let ownershipMismatch = Self(rawValue: "OwnershipMismatch")
    /// Failure: a request asked for offboarded statuses beyond the configured criteria, and
    /// `criteria.allow_request_override` is off; nothing was touched.
    public static let criteriaOverrideRefused = Self(rawValue: "CriteriaOverrideRefused")
    /// A warning: configurations set inactive by an earlier run of the same offboarding that stopped
    /// before its result was published, reported by the run that finished it.
    public static let resumedAfterInterruption = Self(rawValue: "ResumedAfterInterruption")
    /// A warning: configurations this run wrote that a listing afterwards did not show inactive,
    /// even after they were written once more; each is also a failed configuration for the retry topic.
    public static let notConfirmedInactive = Self(rawValue: "NotConfirmedInactive")
    /// A warning: an agreement, contract or recurring invoice is still in effect for the client or
    /// its deactivated configurations (named in `psa_record` and `config_ids`). Nothing is cancelled.
    public static let billingStillActive = Self(rawValue: "BillingStillActive")
    /// A warning: open tickets or alerts are tied to the deactivated configurations, or to the
    /// client where the PSA cannot tie them to one.
    public static let alertsStillOpen = Self(rawValue: "AlertsStillOpen")
    /// A warning: a post-execution check (billing, alerts) could not be made; the deactivation stands.
    public static let checkFailed = Self(rawValue: "CheckFailed")
    /// A warning: a restore left configurations that were edited in the PSA since the offboarding
    /// (their stamp moved, or they are no longer in the state it left them).
    public static let changedSinceOffboarding = Self(rawValue: "ChangedSinceOffboarding")
    /// A warning: a restore left configurations whose state before the offboarding its result does
    /// not record (results published before `psa_previous` existed).
    public static let previousStateUnknown = Self(rawValue: "PreviousStateUnknown")
    /// A warning: a restore left configurations whose recorded state before the offboarding is not
    /// active. A restore only ever puts a configuration back to active; a result that says otherwise
    /// did not come from a deactivation, and is not acted on.
    public static let previousStateNotActive = Self(rawValue: "PreviousStateNotActive")
    /// A warning: a restore found configurations of the offboarding that the PSA reports
    /// as restored and afterwards no longer confirmed in their previous state.
    public static let notConfirmedRestored = Self(rawValue: "NotConfirmedRestored")
    /// A failure: the event named in a restore has no result that can be undone (unknown, a dry run,
    /// awaiting approval, a restore itself, or nothing was deactivated).
    public static let notRestorable = Self(rawValue: "NotRestorable")
    /// A warning: the reviewer who approved kept these configurations (`config_ids`) out of the
    /// offboarding; they were left as they are.
    public static let keptByReviewer = Self(rawValue: "KeptByReviewer")
    /// A warning: the PSA refused (or could not be asked for) the audit ticket; the offboarding stands.
    public static let ticketNotCreated = Self(rawValue: "TicketNotCreated")
}
