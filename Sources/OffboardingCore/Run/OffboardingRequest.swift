/// One client to offboard, from any trigger.
public struct OffboardingRequest: Sendable, Hashable {
    public var eventID: String
    public var trigger: OffboardingTrigger
    public var client: ClientReference
    /// The name the trigger gave, used in results when the PSA cannot be asked.
    public var clientNameHint: String?
    public var options: OffboardingOptions
    /// The CloudEvents source of the event, where the trigger had one: with the id, it is what the
    /// result ledger knows an event by, so that one source cannot suppress another's events.
    public var eventSource: String?

    public init(
        eventID: String, trigger: OffboardingTrigger, client: ClientReference, clientNameHint: String? = nil,
        options: OffboardingOptions, eventSource: String? = nil
    ) {
        self.eventSource = eventSource
        self.eventID = eventID
        self.trigger = trigger
        self.client = client
        self.clientNameHint = clientNameHint
        self.options = options
    }
}
