/// The audit record of one offboarding or restore, as a ticket on the client's company in the
/// PSA, so that the MSP's record lives where its people work.
public struct PSAAuditTicket: Sendable, Hashable {
    public var companyID: String
    /// The result's `event_id`: the adapter derives the ticket's reference from it, and finds the
    /// ticket an earlier attempt of the same work opened rather than opening a second.
    public var eventID: String
    /// One line: the outcome and the client.
    public var title: String
    /// Plain text: the configurations, the reason, the approver and the warnings.
    public var text: String

    public init(companyID: String, eventID: String, title: String, text: String) {
        self.companyID = companyID
        self.eventID = eventID
        self.title = title
        self.text = text
    }
}

/// The ticket an audit record is in.
public struct PSAAuditTicketReceipt: Sendable, Hashable {
    public var id: String
    /// False when an earlier attempt of the same work had opened it.
    public var opened: Bool

    public init(id: String, opened: Bool) {
        self.id = id
        self.opened = opened
    }
}
