import OffboardingCore

/// One thing to tell people, in neutral terms; each channel's format renders it. Every text field
/// may hold what a PSA or a caller wrote, and is escaped by the format that renders it.
public struct Notice: Sendable, Hashable {
    /// Stable for the same fact however often it is read or tried: what a receiver de-duplicates
    /// on (the Standard Webhooks `webhook-id`).
    public var id: String
    public var kind: NoticeKind
    public var psa: PSAKind?
    public var clientID: String?
    public var clientName: String?
    /// One line: what happened, to whom.
    public var title: String
    /// A few sentences of detail.
    public var summary: String
    public var facts: [Fact]
    public var configurations: [Configuration]
    public var warnings: [Warning]
    /// A page of the console about it, always under `notify.console_url`.
    public var link: Link?
    /// RFC 3339.
    public var occurredAt: String
    public var eventID: String?
    public var approvalID: String?

    public struct Fact: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct Configuration: Sendable, Hashable {
        public var id: String
        public var name: String
        /// What happened to it (`deactivated`, `pending_approval`, `kept_by_reviewer`, ...).
        public var action: String?

        public init(id: String, name: String, action: String? = nil) {
            self.id = id
            self.name = name
            self.action = action
        }
    }

    public struct Warning: Sendable, Hashable {
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public struct Link: Sendable, Hashable {
        public var title: String
        public var url: String

        public init(title: String, url: String) {
            self.title = title
            self.url = url
        }
    }

    public init(
        id: String, kind: NoticeKind, psa: PSAKind?, clientID: String?, clientName: String?, title: String, summary: String, facts: [Fact] = [],
        configurations: [Configuration] = [], warnings: [Warning] = [], link: Link? = nil, occurredAt: String, eventID: String? = nil,
        approvalID: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.psa = psa
        self.clientID = clientID
        self.clientName = clientName
        self.title = title
        self.summary = summary
        self.facts = facts
        self.configurations = configurations
        self.warnings = warnings
        self.link = link
        self.occurredAt = occurredAt
        self.eventID = eventID
        self.approvalID = approvalID
    }

    /// The client as people know it: its name, with the id where the name is known.
    public var clientLabel: String {
        switch (clientName, clientID) {
        case (let name?, let id?) where name != id: "\(name) (\(id))"
        case (let name?, _): name
        case (nil, let id?): id
        case (nil, nil): "unknown client"
        }
    }
}
