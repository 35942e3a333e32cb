import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingSandbox
import OffboardingService
import PSAAutotask
import PSAConnectWise
import PSAHTTP
import PSASimulators

/// A 500-configuration client against a simulator that refuses past 50 requests in any second,
/// with no rate limit configured: the PSA's default pacing, learning the rate, beside the same
/// without learning (what the service did before).
func unknownLimitBenchmark() async throws {
    let limit = 50
    let configs = 500
    print("== unknown limit: \(configs) configurations, simulator refusing past \(limit) requests in any rolling second, 20 ms latency, no rate_limit configured")
    // Halo is left out: its default pacing (300 per 5 minutes) binds long before 50 a second.
    for psa in [PSAKind.connectwise, .autotask] {
        for adaptive in [true, false] {
            let sandbox = try PSASandbox.make(psa, dataset: .empty)
            let tenant = sandbox.tenant
            _ = await tenant.addClient(id: 200_001, name: "Bench Client", offboarded: true, active: configs, inactive: 0)
            await tenant.setLatency(.milliseconds(20))
            await tenant.setRollingLimit(maxRequests: limit, window: .seconds(1))
            let server = try await SimulatorServer.start(router: tenant.makeRouter(), logger: logger)
            let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 8)
            let configuration = withDefaultPacing(sandbox.configuration(server.baseURL), adaptive: adaptive)
            let client = OffboarderRuntime.makePSAClient(configuration, httpClient: httpClient, logger: logger)
            let start = ContinuousClock.now
            let result = await Offboarder(psa: client, logger: logger)
                .run(.init(eventID: "bench-\(psa)", trigger: .manual, client: .id("200001"), options: .init(offboardedStatuses: ["Inactive", "Offboarded"])))
            let elapsed = (ContinuousClock.now - start).seconds
            // Without learning, a PSA that counts refused requests and says not when to come back
            // can refuse more than the retries outlast: reported, not hidden.
            guard result.statistics.configsDeactivated == configs || !adaptive else {
                throw BenchmarkError("\(psa): \(result.statistics), \(await tenant.rateLimited) answered 429, \(String(describing: client.pacing)) \(result.errors.prefix(1))")
            }
            let accepted = await tenant.acceptedRequests
            let refused = await tenant.rateLimited
            let rate = Double(accepted) / elapsed
            let learnt = client.pacing?.rate.map { String(format: "%.1f", $0) } ?? "-"
            print(
                "\(psa), \(adaptive ? "adaptive (default)" : "not adaptive      "): \(format2(elapsed)) s, \(accepted) requests accepted = \(format(rate))/s = \(format2(rate / Double(limit))) of the limit, \(refused) answered 429, \(configs - result.statistics.configsDeactivated) failed, learnt rate \(learnt)/s, "
                    + pacingCounts(client.pacing))
            try await httpClient.shutdown()
            await server.stop()
        }
    }
}

/// The PSA's own default pacing (as a configuration file without `rate_limit` gets), with or
/// without learning.
func withDefaultPacing(_ psa: OffboarderConfiguration.PSA, adaptive: Bool = true) -> OffboarderConfiguration.PSA {
    var paced = psa
    paced.http = type(of: psa.settings).defaultHTTP
    if !adaptive { paced.http.adaptive = nil }
    return paced
}
