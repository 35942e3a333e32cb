import Hummingbird
import NIOCore

/// The simulators' request context: Hummingbird's basic one, with the connection kept, so that a
/// connection fault can stall or reset it.
public struct SimulatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
