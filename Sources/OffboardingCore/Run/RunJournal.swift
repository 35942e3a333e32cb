import Foundation

/// What a run is about to write, kept (on the approvals topic, key `run:{event_id}#{attempt}`)
/// before its first write and removed once its result is published. A run repeated after the
/// process stopped between the writes and the publish finds its configurations inactive already;
/// the journal lets it report them as deactivated by this offboarding instead of losing them.
public struct RunJournal: Sendable, Hashable, Codable {
    public var eventID: String
    public var attempt: Int
    public var psa: PSAKind
    public var clientID: String
    public var startedAt: String
    public var configs: [RetryRequest.Item]

    public init(eventID: String, attempt: Int, psa: PSAKind, clientID: String, startedAt: String, configs: [RetryRequest.Item]) {
        self.eventID = eventID
        self.attempt = attempt
        self.psa = psa
        self.clientID = clientID
        self.startedAt = startedAt
        self.configs = configs
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case attempt, psa
        case clientID = "client_id"
        case startedAt = "started_at"
        case configs
        case kind
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventID = try container.decode(String.self, forKey: .eventID)
        attempt = try container.decode(Int.self, forKey: .attempt)
        psa = try container.decode(PSAKind.self, forKey: .psa)
        clientID = try container.decode(String.self, forKey: .clientID)
        startedAt = try container.decode(String.self, forKey: .startedAt)
        configs = try container.decode([RetryRequest.Item].self, forKey: .configs)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.kind, forKey: .kind)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(psa, forKey: .psa)
        try container.encode(clientID, forKey: .clientID)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(configs, forKey: .configs)
    }

    /// The `kind` field that tells a journal from an approval on the shared topic.
    public static let kind = "run-journal"

    /// The record key: one journal per run of an event (the first attempt, each retry).
    public static func key(eventID: String, attempt: Int) -> String { "run:\(eventID)#\(attempt)" }

    public var key: String { Self.key(eventID: eventID, attempt: attempt) }
}
