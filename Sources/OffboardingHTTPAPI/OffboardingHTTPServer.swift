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
        public var webhooks: Webhooks

        public struct Webhooks: Sendable {
            public var connectWiseKeyURLHosts: [String]?
            /// The configured ConnectWise login company; a callback for another is refused.
            public var connectWiseCompanyID: String?
            public var autotaskSecret: String?
            public var haloUsername: String?
            public var haloPassword: String?

            public init(
                connectWiseKeyURLHosts: [String]? = nil, connectWiseCompanyID: String? = nil, autotaskSecret: String? = nil,
                haloUsername: String? = nil, haloPassword: String? = nil
            ) {
                self.connectWiseKeyURLHosts = connectWiseKeyURLHosts
                self.connectWiseCompanyID = connectWiseCompanyID
                self.autotaskSecret = autotaskSecret
                self.haloUsername = haloUsername
                self.haloPassword = haloPassword
            }
        }

        public init(host: String, port: Int, apiTokens: [String], webhooks: Webhooks = .init()) {
            self.host = host
            self.port = port
            self.apiTokens = apiTokens
            self.webhooks = webhooks
        }
    }

    private let application: Application<RouterResponder<BasicRequestContext>>
    private let ports: AsyncStream<Int>
    private let bound = BoundPort()

    public init(configuration: Configuration, backend: any OffboardingBackend, httpClient: HTTPClient, logger: Logger) {
        let router = Self.router(configuration: configuration, backend: backend, httpClient: httpClient, logger: logger)

        let (ports, continuation) = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.ports = ports
        let requested = configuration.port
        let bound = self.bound
        application = Application(
            router: router,
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
    package static func router(
        configuration: Configuration, backend: any OffboardingBackend, httpClient: HTTPClient, logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router()
        HealthRoutes(backend: backend).register(on: router)
        MetricsRoutes(backend: backend).register(on: router)
        let api = router.group("v1").add(middleware: BearerTokenMiddleware(tokens: configuration.apiTokens))
        OffboardingRoutes(backend: backend, logger: logger).register(on: api)
        ConsoleRoutes(backend: backend, sessions: ConsoleSessions(apiTokens: configuration.apiTokens), logger: logger).register(on: router)

        let ingress = WebhookIngress(backend: backend, deliveries: WebhookDeliveries(), logger: logger)
        let webhooks = configuration.webhooks
        if let hosts = webhooks.connectWiseKeyURLHosts, let companyID = webhooks.connectWiseCompanyID {
            let handler = ConnectWiseWebhook(
                ingress: ingress, keyURLHosts: hosts, keys: CallbackKeyCache(httpClient: httpClient, logger: logger), companyID: companyID)
            router.post("webhooks/connectwise") { request, _ in try await handler.handle(request) }
        }
        if let secret = webhooks.autotaskSecret {
            let handler = AutotaskWebhook(ingress: ingress, secret: secret)
            router.post("webhooks/autotask") { request, _ in try await handler.handle(request) }
        }
        if let username = webhooks.haloUsername, let password = webhooks.haloPassword {
            let handler = HaloWebhook(ingress: ingress, username: username, password: password)
            router.post("webhooks/halopsa") { request, _ in try await handler.handle(request) }
        }
        return router
    }

    public func run() async throws {
        try await application.run()
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
