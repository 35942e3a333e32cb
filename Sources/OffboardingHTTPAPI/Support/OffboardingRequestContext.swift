import Hummingbird
import NIOCore

/// Hummingbird's basic context and the peer's address, which the sign-in and bearer-token
/// throttles count failures by.
public struct OffboardingRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The address failures are counted against: the peer's IP (its port changes per connection).
    var clientAddress: String {
        remoteAddress?.ipAddress ?? "unknown"
    }
}
