import AsyncHTTPClient
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators

/// The per-PSA set-up the contract suites share: a PSA's simulator with a client of its adapter,
/// and a client of its own on a harness's PSA.
enum PSAUnderTest {
    /// This PSA's simulator, empty, served on loopback, and a client of its adapter on it (its
    /// configuration passed through `adjust`); the simulator and the client's HTTP client are
    /// stopped after `body`, whether it returns or throws.
    static func serving<T>(
        _ psa: PSAKind, maxConcurrentUpdates: Int = 8, adjust: (OffboarderConfiguration.PSA) -> OffboarderConfiguration.PSA = { $0 },
        _ body: (any SimulatedTenant, any PSAClient) async throws -> T
    ) async throws -> T {
        let (tenant, configuration) = SimulatedPSAs.make(psa)
        return try await SimulatorServer.serving(tenant) { server in
            let psa = adjust(configuration(server.baseURL))
            let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: maxConcurrentUpdates, readTimeout: psa.http.requestTimeout)
            let client = OffboarderRuntime.makePSAClient(psa, httpClient: httpClient, logger: .test())
            return try await shuttingDown(httpClient) { try await body(tenant, client) }
        }
    }

    /// A client of the harness's PSA of its own, nothing cached, as another process would have;
    /// its HTTP client is shut down after `body`, whether it returns or throws.
    static func freshClient<T>(of harness: PipelineHarness, _ body: (any PSAClient) async throws -> T) async throws -> T {
        let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 8)
        let client = OffboarderRuntime.makePSAClient(harness.configuration.psa, httpClient: httpClient, logger: .test())
        return try await shuttingDown(httpClient) { try await body(client) }
    }

    private static func shuttingDown<T>(_ httpClient: HTTPClient, _ body: () async throws -> T) async throws -> T {
        let value: T
        do {
            value = try await body()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
        return value
    }
}
