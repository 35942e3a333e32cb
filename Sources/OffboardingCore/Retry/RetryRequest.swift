import Foundation

/// A request, on the retry topic, to deactivate again exactly the configurations whose update
/// failed transiently. Key: the client id. Headers carry the attempt, the due time and the source
/// of the original event (see schemas/retry-request.schema.json).
public struct RetryRequest: Sendable, Hashable, Codable {
    /// One configuration item of the request.
    public struct Item: Sendable, Hashable, Codable {
        public var configID: String
        public var configName: String
        /// Its state before the offboarding, as the first attempt listed it (what a restore puts back).
        public var previous: OffboardingResult.PSAPrevious?

        public init(configID: String, configName: String, previous: OffboardingResult.PSAPrevious? = nil) {
            self.configID = configID
            self.configName = configName
            self.previous = previous
        }

        enum CodingKeys: String, CodingKey {
            case configID = "config_id"
            case configName = "config_name"
            case previous = "psa_previous"
        }
    }

    /// The approval a run carried out, as far as a retry of it needs to know: the retry writes
    /// only configurations it covers without asking again.
    public struct ApprovalGrant: Sendable, Hashable, Codable {
        public var approvalID: String
        public var approver: String?
        /// The configurations the approval let change.
        public var configIDs: [String]

        public init(approvalID: String, approver: String?, configIDs: [String]) {
            self.approvalID = approvalID
            self.approver = approver
            self.configIDs = configIDs
        }

        enum CodingKeys: String, CodingKey {
            case approvalID = "approval_id"
            case approver
            case configIDs = "config_ids"
        }

        /// Whether every one of `ids` is among the approved configurations.
        public func covers(_ ids: some Sequence<String>) -> Bool {
            let approved = Set(configIDs)
            return ids.allSatisfy(approved.contains)
        }
    }

    public var eventID: String
    public var trigger: OffboardingTrigger
    public var psa: PSAKind
    public var clientID: String
    public var clientName: String?
    public var reason: String?
    public var offboardedStatuses: [String]
    /// The attempt this request is for: 2 for the first retry.
    public var attempt: Int
    public var configs: [Item]
    /// The first attempt's `dry_run` and `require_approval`, as it resolved them; nil in requests
    /// written before they were carried, which then fall back to the configured defaults.
    public var dryRun: Bool?
    public var requireApproval: Bool?
    /// The approval the first attempt ran under, when it did.
    public var approval: ApprovalGrant?
    /// The CloudEvents source of the event the retry continues.
    public var eventSource: String?

    public init(
        eventID: String, trigger: OffboardingTrigger, psa: PSAKind, clientID: String, clientName: String?, reason: String?,
        offboardedStatuses: [String], attempt: Int, configs: [Item]
    ) {
        self.eventID = eventID
        self.trigger = trigger
        self.psa = psa
        self.clientID = clientID
        self.clientName = clientName
        self.reason = reason
        self.offboardedStatuses = offboardedStatuses
        self.attempt = attempt
        self.configs = configs
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case trigger, psa
        case clientID = "client_id"
        case clientName = "client_name"
        case reason
        case offboardedStatuses = "offboarded_statuses"
        case attempt, configs
        case dryRun = "dry_run"
        case requireApproval = "require_approval"
        case approval
        case eventSource = "event_source"
    }

    /// The attempts a retry request may carry (`retry.topic_max_attempts` is at most 100).
    public static let attempts = 2...1000

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    public static func decode(_ bytes: [UInt8]?) throws(InvalidEventError) -> RetryRequest {
        guard let bytes, !bytes.isEmpty else { throw InvalidEventError("retry request has no value") }
        do throws(JSONLimitExceeded) {
            try JSONLimits.record.check(bytes)
        } catch {
            throw InvalidEventError("retry request is refused: \(error)")
        }
        do {
            let request = try JSONDecoder().decode(RetryRequest.self, from: Data(bytes))
            // The attempt comes from the topic: a bound keeps `attempt + 1` and the backoff's shift safe.
            guard Self.attempts.contains(request.attempt) else {
                throw InvalidEventError("retry request attempt \(request.attempt) is not from \(Self.attempts.lowerBound) to \(Self.attempts.upperBound)")
            }
            guard !request.configs.isEmpty, !request.eventID.isEmpty, !request.clientID.isEmpty else {
                throw InvalidEventError("retry request needs an event id, a client id and configs")
            }
            return request
        } catch let error as InvalidEventError {
            throw error
        } catch {
            throw InvalidEventError("retry request is not valid: \(error)")
        }
    }

    /// The run this request continues, its options resolved against the configured defaults as
    /// any request's are: a request without `dry_run` runs as `defaults.dry_run` says.
    public func request(defaults: OffboardingOptions) -> OffboardingRequest {
        let options = OffboardingOptions.Overrides(dryRun: dryRun, requireApproval: requireApproval, reason: reason, offboardedStatuses: offboardedStatuses)
        return OffboardingRequest(
            eventID: eventID, trigger: trigger, client: .id(clientID), clientNameHint: clientName, options: options.resolved(defaults: defaults),
            eventSource: eventSource)
    }

    /// The state before the offboarding of each configuration that carries one.
    public var statesBefore: [String: OffboardingResult.PSAPrevious] {
        Dictionary(configs.compactMap { config in config.previous.map { (config.configID, $0) } }, uniquingKeysWith: { first, _ in first })
    }

    public var configurations: [PSAItem] {
        configs.map { PSAItem(id: $0.configID, name: $0.configName, isActive: true) }
    }
}
