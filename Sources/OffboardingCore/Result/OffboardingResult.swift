/// What started a run.
public enum OffboardingTrigger: String, Sendable, Hashable, Codable {
    case event, manual, api, schedule, webhook, restore
}

/// The result record published per processed client: a superset of the seed workflow's returned data.
public struct OffboardingResult: Sendable, Hashable, Codable {
    public var success: Bool
    public var eventID: String
    public var trigger: OffboardingTrigger
    public var psa: PSAKind
    public var clientID: String
    public var clientName: String?
    public var timestamp: String
    public var dryRun: Bool
    public var reason: String?
    public var statistics: Statistics
    public var configs: [Config]
    public var warnings: [Warning]
    public var errors: [ResultError]
    public var approval: Approval?
    /// Set on follow-up results from the retry topic: 2 for the first retry, and so on.
    public var attempt: Int?
    /// The criteria the client met (`status`, `company_types`, `contracts_ended`), when the PSA
    /// was asked whether the client is offboarded and it is.
    public var matched: [String]?
    /// Set on a restore's result: the `event_id` of the offboarding it undoes.
    public var restores: String?
    /// Who asked for a restore, as the request named them.
    public var requestedBy: String?
    /// The PSA ticket that holds this run's audit record (`audit.ticket`).
    public var auditTicket: AuditTicket?

    public struct AuditTicket: Sendable, Hashable, Codable {
        public var id: String

        public init(id: String) {
            self.id = id
        }
    }

    public struct Statistics: Sendable, Hashable, Codable {
        public var configsFound: Int
        public var configsDeactivated: Int
        public var configsSkipped: Int
        public var errors: Int
        /// Of the configurations this run reports deactivated, how many a listing after the
        /// writes showed inactive; nil when nothing was written.
        public var configsConfirmed: Int?
        /// A restore's count of configurations put back; nil on an offboarding.
        public var configsRestored: Int?

        public init(
            configsFound: Int = 0, configsDeactivated: Int = 0, configsSkipped: Int = 0, errors: Int = 0, configsConfirmed: Int? = nil,
            configsRestored: Int? = nil
        ) {
            self.configsFound = configsFound
            self.configsDeactivated = configsDeactivated
            self.configsSkipped = configsSkipped
            self.errors = errors
            self.configsConfirmed = configsConfirmed
            self.configsRestored = configsRestored
        }

        enum CodingKeys: String, CodingKey {
            case configsFound = "configs_found"
            case configsDeactivated = "configs_deactivated"
            case configsSkipped = "configs_skipped"
            case errors
            case configsConfirmed = "configs_confirmed"
            case configsRestored = "configs_restored"
        }
    }

    public enum ConfigStatus: String, Sendable, Hashable, Codable {
        case active, inactive
    }

    public enum Action: String, Sendable, Hashable, Codable {
        case deactivated
        case wouldDeactivate = "would_deactivate"
        case pendingApproval = "pending_approval"
        case skipped
        case failed
        /// A restore put the configuration back to its state before the offboarding.
        case restored
        /// A dry-run restore would put it back.
        case wouldRestore = "would_restore"
    }

    public struct Config: Sendable, Hashable, Codable {
        public var configID: String
        public var configName: String
        /// The configuration's type as the PSA names it, where the listing gave one.
        public var configType: String?
        public var status: ConfigStatus
        public var previousStatus: ConfigStatus
        public var action: Action
        public var psaStatus: String?
        /// Why a configuration was skipped.
        public var skipReason: SkipReason?
        /// For a configuration this run deactivated: its state in the PSA before, and the PSA's
        /// stamp after, so that the offboarding can be undone exactly and an edit since is seen.
        public var psaPrevious: PSAPrevious?

        public init(
            configID: String, configName: String, configType: String? = nil, status: ConfigStatus, previousStatus: ConfigStatus, action: Action,
            psaStatus: String? = nil, skipReason: SkipReason? = nil
        ) {
            self.configType = configType
            self.skipReason = skipReason
            self.configID = configID
            self.configName = configName
            self.status = status
            self.previousStatus = previousStatus
            self.action = action
            self.psaStatus = psaStatus
        }

        enum CodingKeys: String, CodingKey {
            case configID = "config_id"
            case configName = "config_name"
            case configType = "config_type"
            case status
            case previousStatus = "previous_status"
            case action
            case psaStatus = "psa_status"
            case skipReason = "skip_reason"
            case psaPrevious = "psa_previous"
        }
    }

    /// A deactivated configuration's state in the PSA before the run, in the PSA's own terms.
    public struct PSAPrevious: Sendable, Hashable, Codable {
        /// Active before (Autotask `isActive`; HaloPSA `inactive` negated; ConnectWise: its status was not closed).
        public var active: Bool
        /// The status it had: ConnectWise's configuration status `{id, name}`, HaloPSA's `status_id`.
        public var status: Status?
        /// The PSA's last-modified stamp as it reported it after this run's write (ConnectWise
        /// `_info.lastUpdated`, Autotask `lastModifiedTime`); absent where the PSA reports none.
        public var lastModified: String?

        public struct Status: Sendable, Hashable, Codable {
            public var id: String
            public var name: String?

            public init(id: String, name: String? = nil) {
                self.id = id
                self.name = name
            }
        }

        public init(active: Bool, status: Status? = nil, lastModified: String? = nil) {
            self.active = active
            self.status = status
            self.lastModified = lastModified
        }

        enum CodingKeys: String, CodingKey {
            case active, status
            case lastModified = "last_modified"
        }
    }

    public enum SkipReason: String, Sendable, Hashable, Codable {
        case alreadyInactive = "already_inactive"
        case outOfScope = "out_of_scope"
        case approvalRejected = "approval_rejected"
        case approvalExpired = "approval_expired"
        /// The reviewer who approved kept the configuration out of the offboarding.
        case keptByReviewer = "kept_by_reviewer"
        /// A restore found the configuration already in its state before the offboarding.
        case alreadyRestored = "already_restored"
        /// A restore found the configuration edited in the PSA since the offboarding, and left it.
        case changedSinceOffboarding = "changed_since_offboarding"
        /// A restore found no state from before the offboarding to put back (a result from before
        /// `psa_previous` was recorded), and left it.
        case previousStateUnknown = "previous_state_unknown"
        /// A restore found a recorded state before the offboarding that is not active, and left it:
        /// a restore only puts configurations back to active.
        case previousStateNotActive = "previous_state_not_active"
        /// A restore found the configuration no longer listed for the client.
        case notFound = "not_found"
    }

    public struct Warning: Sendable, Hashable, Codable {
        public var code: OffboardingErrorCode
        public var message: String
        /// The PSA record a post-execution check found (`BillingStillActive`, `AlertsStillOpen`).
        public var psaRecord: PSARecord?
        /// The configurations the warning is about, where it names some.
        public var configIDs: [String]?

        public init(code: OffboardingErrorCode, message: String, psaRecord: PSARecord? = nil, configIDs: [String]? = nil) {
            self.code = code
            self.message = message
            self.psaRecord = psaRecord
            self.configIDs = configIDs
        }

        public struct PSARecord: Sendable, Hashable, Codable {
            public var kind: String
            public var id: String
            public var name: String?

            public init(kind: String, id: String, name: String? = nil) {
                self.kind = kind
                self.id = id
                self.name = name
            }
        }

        enum CodingKeys: String, CodingKey {
            case code, message
            case psaRecord = "psa_record"
            case configIDs = "config_ids"
        }
    }

    public struct ResultError: Sendable, Hashable, Codable {
        public var code: OffboardingErrorCode
        public var message: String
        public var timestamp: String
        public var configID: String?

        public init(code: OffboardingErrorCode, message: String, timestamp: String, configID: String? = nil) {
            self.code = code
            self.message = message
            self.timestamp = timestamp
            self.configID = configID
        }

        enum CodingKeys: String, CodingKey {
            case code, message, timestamp
            case configID = "config_id"
        }
    }

    public struct Approval: Sendable, Hashable, Codable {
        public var id: String
        public var state: ApprovalState
        public var expiresAt: String?
        /// Why the run waits: `requested`, or `max_configs` when it would change more than the scope allows.
        public var cause: ApprovalCause?
        public var approver: String?
        public var comment: String?
        public var decidedAt: String?

        public init(
            id: String, state: ApprovalState, expiresAt: String?, cause: ApprovalCause? = nil, approver: String? = nil, comment: String? = nil,
            decidedAt: String? = nil
        ) {
            self.id = id
            self.state = state
            self.expiresAt = expiresAt
            self.cause = cause
            self.approver = approver
            self.comment = comment
            self.decidedAt = decidedAt
        }

        enum CodingKeys: String, CodingKey {
            case id, state, cause, approver, comment
            case expiresAt = "expires_at"
            case decidedAt = "decided_at"
        }
    }

    public init(
        success: Bool, eventID: String, trigger: OffboardingTrigger, psa: PSAKind, clientID: String, clientName: String?,
        timestamp: String, dryRun: Bool, reason: String?, statistics: Statistics = .init(), configs: [Config] = [],
        warnings: [Warning] = [], errors: [ResultError] = [], approval: Approval? = nil
    ) {
        self.success = success
        self.eventID = eventID
        self.trigger = trigger
        self.psa = psa
        self.clientID = clientID
        self.clientName = clientName
        self.timestamp = timestamp
        self.dryRun = dryRun
        self.reason = reason
        self.statistics = statistics
        self.configs = configs
        self.warnings = warnings
        self.errors = errors
        self.approval = approval
    }

    enum CodingKeys: String, CodingKey {
        case success
        case eventID = "event_id"
        case trigger, psa
        case clientID = "client_id"
        case clientName = "client_name"
        case timestamp
        case dryRun = "dry_run"
        case reason, statistics, configs, warnings, errors, approval, attempt, matched, restores
        case requestedBy = "requested_by"
        case auditTicket = "audit_ticket"
    }

    public func encode(to encoder: any Encoder) throws {
        // Written by hand so that absent optionals are omitted except `client_name` and `reason`,
        // which the contract always shows (null when unknown).
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(success, forKey: .success)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(psa, forKey: .psa)
        try container.encode(clientID, forKey: .clientID)
        try container.encode(clientName, forKey: .clientName)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(dryRun, forKey: .dryRun)
        try container.encode(reason, forKey: .reason)
        try container.encode(statistics, forKey: .statistics)
        try container.encode(configs, forKey: .configs)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(errors, forKey: .errors)
        try container.encodeIfPresent(approval, forKey: .approval)
        try container.encodeIfPresent(attempt, forKey: .attempt)
        try container.encodeIfPresent(matched, forKey: .matched)
        try container.encodeIfPresent(restores, forKey: .restores)
        try container.encodeIfPresent(requestedBy, forKey: .requestedBy)
        try container.encodeIfPresent(auditTicket, forKey: .auditTicket)
    }
}
