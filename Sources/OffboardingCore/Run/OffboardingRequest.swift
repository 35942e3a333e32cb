/// One client to offboard, from any trigger.
public struct OffboardingRequest: Sendable, Hashable {
    public var eventID: String
    public var trigger: OffboardingTrigger
    public var client: ClientReference
    /// The name the trigger gave, used in results when the PSA cannot be asked.
    public var clientNameHint: String?
    public var options: OffboardingOptions

    public init(
        eventID: String, trigger: OffboardingTrigger, client: ClientReference, clientNameHint: String? = nil,
        options: OffboardingOptions
    ) {
        self.eventID = eventID
        self.trigger = trigger
        self.client = client
        self.clientNameHint = clientNameHint
        self.options = options
    }
}
