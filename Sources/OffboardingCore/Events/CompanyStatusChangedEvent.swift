/// The company-status-changed event (CloudEvents 1.0, type `psa.company.status_changed`).
public struct CompanyStatusChangedEvent: Sendable, Hashable {
    public static let eventType = "psa.company.status_changed"

    /// The CloudEvents `id`: the idempotency key.
    public var id: String
    public var source: String
    public var time: String?
    public var psa: PSAKind
    public var companyID: String
    public var companyName: String?
    public var previousStatus: String?
    public var status: String
    public var options: OffboardingOptions.Overrides
    /// What produced the event: the CloudEvents extension attribute `trigger` (binary mode:
    /// `ce_trigger`); absent means `event`, a status change reported by the PSA.
    public var trigger: OffboardingTrigger
    /// With trigger `restore`: the event id of the offboarding to undo (extension attribute `restores`).
    public var restores: String?
    /// With trigger `restore`: who asked (extension attribute `requestedby`).
    public var requestedBy: String?
    /// The trace the event belongs to (distributed-tracing extension `traceparent`); the service
    /// continues it and passes it on.
    public var traceParent: TraceParent?

    public init(
        id: String, source: String, time: String? = nil, psa: PSAKind, companyID: String, companyName: String? = nil,
        previousStatus: String? = nil, status: String, options: OffboardingOptions.Overrides = .init(), trigger: OffboardingTrigger = .event,
        restores: String? = nil, requestedBy: String? = nil, traceParent: TraceParent? = nil
    ) {
        self.traceParent = traceParent
        self.trigger = trigger
        self.restores = restores
        self.requestedBy = requestedBy
        self.id = id
        self.source = source
        self.time = time
        self.psa = psa
        self.companyID = companyID
        self.companyName = companyName
        self.previousStatus = previousStatus
        self.status = status
        self.options = options
    }
}

/// Why a record is not a valid event; the message names the field.
public struct InvalidEventError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
