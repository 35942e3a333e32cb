import Foundation

/// Why a run waits for an approval.
public enum ApprovalCause: String, Sendable, Hashable, Codable {
    /// `require_approval` was set.
    case requested
    /// More configurations would change than `scope.max_configs` allows.
    case maxConfigs = "max_configs"
}

public enum ApprovalState: String, Sendable, Hashable, Codable {
    case pending, approved, rejected, expired
}

/// One approval as the approvals topic keeps it (key: the approval id; the topic is compacted, so
/// every record carries the whole approval and the latest one per key is its state). Written
/// `pending` by the run that lists the configurations, then once more with the final state.
public struct ApprovalRecord: Sendable, Hashable, Codable {
    public var approvalID: String
    public var state: ApprovalState
    public var eventID: String
    public var trigger: OffboardingTrigger
    public var psa: PSAKind
    public var clientID: String
    public var clientName: String?
    public var reason: String?
    public var offboardedStatuses: [String]
    public var cause: ApprovalCause
    public var requestedAt: String
    public var expiresAt: String
    /// Exactly the configurations an approval lets change.
    public var configs: [RetryRequest.Item]
    public var decision: ApprovalDecision?
    /// Always false for approvals written now (a dry run never waits for one); nil in approvals
    /// written before it was carried, which run as `defaults.dry_run` says.
    public var dryRun: Bool?
    /// The CloudEvents source of the event the approval belongs to.
    public var eventSource: String?

    public init(
        approvalID: String, state: ApprovalState, eventID: String, trigger: OffboardingTrigger, psa: PSAKind, clientID: String,
        clientName: String?, reason: String?, offboardedStatuses: [String], cause: ApprovalCause, requestedAt: String, expiresAt: String,
        configs: [RetryRequest.Item], decision: ApprovalDecision? = nil, dryRun: Bool? = false
    ) {
        self.approvalID = approvalID
        self.state = state
        self.eventID = eventID
        self.trigger = trigger
        self.psa = psa
        self.clientID = clientID
        self.clientName = clientName
        self.reason = reason
        self.offboardedStatuses = offboardedStatuses
        self.cause = cause
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
        self.configs = configs
        self.decision = decision
        self.dryRun = dryRun
    }

    enum CodingKeys: String, CodingKey {
        case approvalID = "approval_id"
        case state
        case eventID = "event_id"
        case trigger, psa
        case clientID = "client_id"
        case clientName = "client_name"
        case reason
        case offboardedStatuses = "offboarded_statuses"
        case cause
        case requestedAt = "requested_at"
        case expiresAt = "expires_at"
        case configs, decision
        case dryRun = "dry_run"
        case eventSource = "event_source"
    }

    public func isExpired(at now: Date) -> Bool {
        guard let expiry = Timestamp.date(from: expiresAt) else { return true }
        return now >= expiry
    }

    /// The run the approval continues, with the options it was listed under; `dryRun` where the
    /// approval does not say.
    public func request(dryRun: Bool) -> OffboardingRequest {
        OffboardingRequest(
            eventID: eventID, trigger: trigger, client: .id(clientID), clientNameHint: clientName,
            options: OffboardingOptions(dryRun: self.dryRun ?? dryRun, reason: reason, offboardedStatuses: offboardedStatuses), eventSource: eventSource)
    }

    /// What a retry of the run this approval allowed carries.
    public var grant: RetryRequest.ApprovalGrant {
        RetryRequest.ApprovalGrant(approvalID: approvalID, approver: decision?.approver, configIDs: configs.map(\.configID))
    }
}

/// An approver's answer to a pending approval: posted to `POST /v1/approvals/{id}`, or written
/// to the approvals topic by any producer (key: the approval id).
public struct ApprovalDecision: Sendable, Hashable, Codable {
    public enum Verdict: String, Sendable, Hashable, Codable {
        case approve, reject
    }

    public var approvalID: String
    public var decision: Verdict
    public var approver: String
    public var comment: String?
    public var decidedAt: String?
    /// Configurations of the approval the reviewer keeps (still in use, moving with the client):
    /// an approved run skips them with `kept_by_reviewer`. Only with `approve`.
    public var keep: [String]?

    public init(
        approvalID: String, decision: Verdict, approver: String, comment: String? = nil, decidedAt: String? = nil, keep: [String]? = nil
    ) {
        self.approvalID = approvalID
        self.decision = decision
        self.approver = approver
        self.comment = comment
        self.decidedAt = decidedAt
        self.keep = keep
    }

    enum CodingKeys: String, CodingKey {
        case approvalID = "approval_id"
        case decision, approver, comment, keep
        case decidedAt = "decided_at"
    }
}

/// A console session ended by signing out (key `session:{id}`): every replica reads it and refuses
/// the session's cookie until it would have expired anyway.
public struct SessionRevocation: Sendable, Hashable, Codable {
    public var session: String
    /// When the session would have expired (RFC 3339).
    public var until: String

    public init(session: String, until: String) {
        self.session = session
        self.until = until
    }

    enum CodingKeys: String, CodingKey {
        case kind, session, until
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        session = try container.decode(String.self, forKey: .session)
        until = try container.decode(String.self, forKey: .until)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.kind, forKey: .kind)
        try container.encode(session, forKey: .session)
        try container.encode(until, forKey: .until)
    }

    /// The `kind` field that tells a revocation from an approval on the shared topic.
    public static let kind = "session-revoked"

    public var key: String { Self.key(session: session) }

    /// The record key of a session's sign-out.
    public static func key(session: String) -> String { "session:\(session)" }
}

/// A record of the approvals topic: the state of an approval, a decision about one, the journal
/// of a run in progress, or a console session ended (the topic is the service's compacted state).
public enum ApprovalMessage: Sendable, Hashable {
    case record(ApprovalRecord)
    case decision(ApprovalDecision)
    case journal(RunJournal)
    case sessionRevoked(SessionRevocation)

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data? =
            switch self {
            case .record(let record): try? encoder.encode(record)
            case .decision(let decision): try? encoder.encode(decision)
            case .journal(let journal): try? encoder.encode(journal)
            case .sessionRevoked(let revocation): try? encoder.encode(revocation)
            }
        return Array(data ?? Data())
    }

    /// Strict: a decision needs `approval_id`, `decision` (approve or reject) and a non-empty
    /// `approver`, and may keep configurations (`keep`, ids, with approve only); anything else is
    /// refused with the field named.
    public static func decode(_ bytes: [UInt8]?) throws(InvalidEventError) -> ApprovalMessage {
        guard let bytes, !bytes.isEmpty else { throw InvalidEventError("approval record has no value") }
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes, limits: .record)
        } catch {
            throw InvalidEventError(error.message("approval record"))
        }
        guard case .object(let fields) = document else { throw InvalidEventError("approval record is \(document.typeName), not an object") }
        do {
            if case .string(RunJournal.kind)? = fields["kind"] {
                let journal = try JSONDecoder().decode(RunJournal.self, from: Data(bytes))
                guard RetryRequest.attempts.contains(journal.attempt) || journal.attempt == 1 else {
                    throw InvalidEventError("run journal attempt \(journal.attempt) is out of range")
                }
                return .journal(journal)
            }
            if case .string(SessionRevocation.kind)? = fields["kind"] {
                return .sessionRevoked(try JSONDecoder().decode(SessionRevocation.self, from: Data(bytes)))
            }
            if fields["state"] != nil {
                return .record(try JSONDecoder().decode(ApprovalRecord.self, from: Data(bytes)))
            }
            let known: Set = ["approval_id", "decision", "approver", "comment", "decided_at", "keep"]
            if let unknown = JSONValue.firstUnknownKey(of: fields, known: known) {
                throw InvalidEventError("\(unknown) is not a field of an approval decision")
            }
            guard case .string(let verdict)? = fields["decision"], ApprovalDecision.Verdict(rawValue: verdict) != nil else {
                throw InvalidEventError("decision must be \"approve\" or \"reject\"")
            }
            guard case .string(let approver)? = fields["approver"], !approver.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw InvalidEventError("approver is required")
            }
            guard case .string(let id)? = fields["approval_id"], !id.isEmpty else { throw InvalidEventError("approval_id is required") }
            _ = (id, approver)
            switch fields["keep"] {
            case nil, .null?: break
            case .array? where verdict == ApprovalDecision.Verdict.approve.rawValue:
                guard fields["keep"]?.nonEmptyStrings != nil else { throw InvalidEventError("keep must be a list of configuration ids") }
            default: throw InvalidEventError("keep must be a list of configuration ids, with approve only")
            }
            return .decision(try JSONDecoder().decode(ApprovalDecision.self, from: Data(bytes)))
        } catch let error as InvalidEventError {
            throw error
        } catch {
            throw InvalidEventError("approval record is not valid: \(error)")
        }
    }
}
