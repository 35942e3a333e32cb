import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The HTTP side of the service (Hummingbird): the offboarding and approval API under `/v1`
/// (bearer tokens), the review console under `/console`, health probes, metrics, and webhook ingress for each PSA whose verification is
/// configured. A `Service`: it stops accepting on graceful shutdown and finishes open requests.
public final class OffboardingHTTPServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 lets the OS choose; `boundPort()` tells which.
        public var port: Int
        public var apiTokens: [String]
        /// The PSA's webhook ingress; nil: no webhook route (404).
        package var webhook: (any PSAWebhook)?
        /// How long a connection may take over each part of a request, and how many may be open:
        /// without them, a client that trickles its bytes holds a connection (and a file
        /// descriptor) for ever, and the routes that need no token accept anyone.
        public var timeouts = Timeouts()
        /// Connections open at once (`http.max_connections`); a new one beyond is closed as it is accepted.
        public var maxConnections = Self.defaultMaxConnections
        public static let defaultMaxConnections = 512
        /// The console's session cookie carries `Secure` (`http.secure_cookies`); off only for
        /// plain http on loopback, where a browser would not send it back.
        public var secureCookies = true
        /// What the console's session key is derived from, with the API tokens: a server secret (the
        /// first record signing key), never the tokens alone. Nil: a random one per process, and a
        /// session then holds on the replica that issued it only.
        public var sessionSecret: [UInt8]?

        /// `http.timeouts`: each a bound on one part of a connection's life.
        public struct Timeouts: Sendable, Hashable {
            /// From a request's first byte to its complete head.
            public var header: Duration = .seconds(10)
            /// A kept-alive connection without a request, before it is closed.
            public var idle: Duration = .seconds(60)
            /// From a request's head to the end of its body.
            public var body: Duration = .seconds(30)

            public init() {}
        }

        public init(host: String, port: Int, apiTokens: [String]) {
            self.host = host
            self.port = port
            self.apiTokens = apiTokens
        }
    }

    private let application: Application<RouterResponder<OffboardingRequestContext>>
    /// ConnectWise signing keys are fetched on a client and pool of their own: a flood of
    /// callbacks naming key URLs neither reaches the PSA's connections nor waits behind them.
    private let keyClient: HTTPClient
    private let ports: AsyncStream<Int>
    private let bound = BoundPort()

    public init(configuration: Configuration, backend: any OffboardingBackend, logger: Logger) {
        var keys = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
        keys.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 2)
        let keyClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: keys)
        self.keyClient = keyClient
        let router = Self.router(configuration: configuration, backend: backend, httpClient: keyClient, logger: logger)

        let limits = ConnectionGuard.Limits(
            header: configuration.timeouts.header, idle: configuration.timeouts.idle, body: configuration.timeouts.body,
            maxConnections: configuration.maxConnections)
        let open = ConnectionGuard.OpenConnections()
        let (ports, continuation) = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.ports = ports
        let requested = configuration.port
        let bound = self.bound
        application = Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(limits: limits, open: open, logger: logger)])),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "psa-offboarder"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? requested
                bound.port.withLock { $0 = port }
                logger.info("HTTP API listening", metadata: ["http.port": "\(port)"])
                continuation.yield(port)
                continuation.finish()
            },
            logger: logger)
    }

    /// Every route, on whatever backend: the server's, or a test's without Kafka or a PSA.
    /// - Parameter httpClient: fetches ConnectWise signing keys.
    package static func router(
        configuration: Configuration, backend: any OffboardingBackend, httpClient: HTTPClient, logger: Logger
    ) -> Router<OffboardingRequestContext> {
        let router = Router(context: OffboardingRequestContext.self)
        HealthRoutes(backend: backend).register(on: router)
        MetricsRoutes(backend: backend).register(on: router)
        let api = router.group("v1").add(middleware: BearerTokenMiddleware(tokens: configuration.apiTokens, throttle: FailedAuthThrottle(route: "api")))
        OffboardingRoutes(backend: backend, logger: logger).register(on: api)
        ConsoleRoutes(
            backend: backend, sessions: ConsoleSessions(apiTokens: configuration.apiTokens, secret: configuration.sessionSecret),
            throttle: FailedAuthThrottle(route: "console"), secureCookies: configuration.secureCookies, logger: logger
        ).register(on: router)

        let ingress = WebhookIngress(backend: backend, deliveries: WebhookDeliveries(), logger: logger)
        if let webhook = configuration.webhook {
            let handle = webhook.handler(ingress: ingress, keyClient: httpClient, logger: logger)
            router.post("webhooks/\(webhook.route)") { request, _ in try await handle(request) }
        }
        return router
    }

    public func run() async throws {
        do {
            try await application.run()
        } catch {
            try? await keyClient.shutdown()
            throw error
        }
        try await keyClient.shutdown()
    }

    /// The port the server listens on, once it does.
    public func boundPort() async -> Int? {
        if let port = bound.port.withLock({ $0 }) { return port }
        for await port in ports { return port }
        return bound.port.withLock { $0 }
    }
}

private final class BoundPort: Sendable {
    let port = Mutex<Int?>(nil)
}
