/// What a restore puts back: every configuration the offboarding deactivated, over its first run
/// and any retry or approval follow-ups, with the state each had before it.
public struct RestorePlan: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var configID: String
        public var configName: String
        /// Nil for results published before the previous state was recorded.
        public var previous: OffboardingResult.PSAPrevious?

        public init(configID: String, configName: String, previous: OffboardingResult.PSAPrevious?) {
            self.configID = configID
            self.configName = configName
            self.previous = previous
        }
    }

    /// The offboarding undone.
    public var eventID: String
    public var psa: PSAKind
    public var clientID: String
    public var clientName: String?
    public var reason: String?
    /// In the order the results first reported them.
    public var configs: [Entry]

    public init(eventID: String, psa: PSAKind, clientID: String, clientName: String?, reason: String?, configs: [Entry]) {
        self.eventID = eventID
        self.psa = psa
        self.clientID = clientID
        self.clientName = clientName
        self.reason = reason
        self.configs = configs
    }

    /// Builds the plan from every result published for `eventID`, in the order they were published.
    /// - Throws: `RestoreRefusal` when there is nothing that can be undone.
    public static func make(eventID: String, from results: [OffboardingResult]) throws(RestoreRefusal) -> RestorePlan {
        guard let first = results.first else {
            throw RestoreRefusal(.unknown, "no result of an offboarding with event id \(eventID) is on the results topic")
        }
        if results.contains(where: { $0.trigger == .restore }) {
            throw RestoreRefusal(.notRestorable, "event \(eventID) is a restore; offboard the client again instead")
        }
        var entries: [String: Entry] = [:]
        var order: [String] = []
        for result in results where !result.dryRun {
            for config in result.configs where config.action == .deactivated {
                if entries[config.configID] == nil { order.append(config.configID) }
                // A later result's record is the newer one; one without a previous state keeps the earlier's.
                let previous = config.psaPrevious ?? entries[config.configID]?.previous
                entries[config.configID] = Entry(configID: config.configID, configName: config.configName, previous: previous)
            }
        }
        guard !order.isEmpty else {
            let last = results[results.count - 1]
            if results.allSatisfy(\.dryRun) {
                throw RestoreRefusal(.notRestorable, "event \(eventID) was a dry run; it changed nothing to restore")
            }
            if last.approval?.state == .pending {
                throw RestoreRefusal(.notRestorable, "event \(eventID) is awaiting approval \(last.approval?.id ?? ""); it has changed nothing yet")
            }
            throw RestoreRefusal(.notRestorable, "event \(eventID) deactivated no configuration; there is nothing to restore")
        }
        let latest = results.last { !$0.dryRun } ?? first
        return RestorePlan(
            eventID: eventID, psa: first.psa, clientID: latest.clientID, clientName: latest.clientName, reason: first.reason,
            configs: order.compactMap { entries[$0] })
    }
}

/// Why an offboarding cannot be restored: unknown (HTTP 404), or known but with nothing to undo (409).
public struct RestoreRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case unknown
        case notRestorable
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
