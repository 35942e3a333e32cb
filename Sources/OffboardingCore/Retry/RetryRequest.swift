import Foundation

/// A request, on the retry topic, to deactivate again exactly the configurations whose update
/// failed transiently. Key: the client id. Headers carry the attempt, the due time and the source
/// of the original event (see schemas/retry-request.schema.json).
public struct RetryRequest: Sendable, Hashable, Codable {
    public struct Config: Sendable, Hashable, Codable {
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

    public var eventID: String
    public var trigger: OffboardingTrigger
    public var psa: PSAKind
    public var clientID: String
    public var clientName: String?
    public var reason: String?
    public var offboardedStatuses: [String]
    /// The attempt this request is for: 2 for the first retry.
    public var attempt: Int
    public var configs: [Config]

    public init(
        eventID: String, trigger: OffboardingTrigger, psa: PSAKind, clientID: String, clientName: String?, reason: String?,
        offboardedStatuses: [String], attempt: Int, configs: [Config]
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

    /// The run this request continues.
    public var request: OffboardingRequest {
        OffboardingRequest(
            eventID: eventID, trigger: trigger, client: .id(clientID), clientNameHint: clientName,
            options: OffboardingOptions(reason: reason, offboardedStatuses: offboardedStatuses))
    }

    /// The state before the offboarding of each configuration that carries one.
    public var statesBefore: [String: OffboardingResult.PSAPrevious] {
        Dictionary(configs.compactMap { config in config.previous.map { (config.configID, $0) } }, uniquingKeysWith: { first, _ in first })
    }

    public var configurations: [PSAConfiguration] {
        configs.map { PSAConfiguration(id: $0.configID, name: $0.configName, isActive: true) }
    }
}
