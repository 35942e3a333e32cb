/// One configuration a restore puts back, with the state it had before the offboarding.
public struct PSARestoration: Sendable, Hashable {
    public var configuration: PSAItem
    public var previous: OffboardingResult.PSAPrevious

    public init(configuration: PSAItem, previous: OffboardingResult.PSAPrevious) {
        self.configuration = configuration
        self.previous = previous
    }
}
