/// Billing the PSA still ties to an offboarded client or to its deactivated configurations: an
/// agreement or contract in effect, or a recurring invoice. Reported, never cancelled.
public struct PSABillingTie: Sendable, Hashable {
    /// What kind of record it is, in the PSA's own words (`agreement`, `contract`, `recurring invoice`).
    public var kind: String
    public var id: String
    public var name: String
    /// Of the configurations checked, those the PSA ties to it; empty when it is tied to the client only.
    public var configurationIDs: [String]
    /// More about it, for the person reading the warning (active additions, ...).
    public var detail: String?

    public init(kind: String, id: String, name: String, configurationIDs: [String] = [], detail: String? = nil) {
        self.kind = kind
        self.id = id
        self.name = name
        self.configurationIDs = configurationIDs
        self.detail = detail
    }
}

/// An open alert or ticket tied to a deactivated configuration, or to the client where the PSA
/// cannot tie it to one.
public struct PSAOpenAlert: Sendable, Hashable {
    /// `ticket`, or `rmm alerts` (Autotask's count of open RMM alerts on an item).
    public var kind: String
    /// The ticket's id, or the configuration's for a count of alerts on it.
    public var id: String
    public var summary: String
    public var configurationIDs: [String]

    public init(kind: String, id: String, summary: String, configurationIDs: [String] = []) {
        self.kind = kind
        self.id = id
        self.summary = summary
        self.configurationIDs = configurationIDs
    }
}
