import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingService
import PSAHalo
import PSASimulators

/// A HaloPSA client with 1,204 assets against a simulator that enforces hosted Halo's 300
/// requests per rolling 5 minutes, with the default configuration (pacing at that limit, adaptive,
/// batches of 50), and the same written one asset at a time for comparison.
func haloBatchBenchmark(unbatchedFor limit: Duration = .seconds(90)) async throws {
    let assets = 1_204
    print("== HaloPSA: one client with \(assets) assets, simulator enforcing 300 requests per rolling 5 minutes, 50 ms latency; default pacing (300 per 5 min, adaptive)")
    for batchSize in [HaloClient.Configuration.defaultBatchSize, 1] {
        let simulator = HaloSimulator(data: .empty())
        _ = await simulator.addClient(id: 100_001, name: "Bench Client", offboarded: true, active: assets, inactive: 0)
        await simulator.setRollingLimit(maxRequests: 300, window: .seconds(300))
        await simulator.setLatency(.milliseconds(50))
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: logger)
        let credentials = HaloSimulator.Credentials.sandbox
        let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 8)
        let client = HaloClient(
            configuration: .init(
                baseURL: server.baseURL, authURL: server.baseURL + HaloSimulator.authPath, clientID: credentials.clientID,
                clientSecret: credentials.clientSecret, tenant: credentials.tenant, batchSize: batchSize),
            httpClient: httpClient, logger: logger)
        let offboarder = Offboarder(psa: client, logger: logger)
        let request = OffboardingRequest(eventID: "bench-halo-\(batchSize)", trigger: .manual, client: .id("100001"), options: .init(offboardedStatuses: ["Inactive"]))
        let start = ContinuousClock.now
        let run = Task { await offboarder.run(request) }
        if batchSize == 1 {
            // Written one by one the run takes over half an hour: it is watched for a while, then
            // stopped, and its pace read from the writes the simulator counted.
            try await Task.sleep(for: limit)
            run.cancel()
            _ = await run.value
            let elapsed = (ContinuousClock.now - start).seconds
            let written = await simulator.deactivationWrites(forClient: 100_001)
            let requests = await simulator.acceptedRequests
            let refused = await simulator.rateLimited
            print(
                "batch_size 1: stopped after \(format(elapsed)) s with \(written) of \(assets) assets written, \(requests) requests accepted, \(refused) answered 429; at the 300-per-5-minute pace the rest takes another \(format(Double(2 * (assets - written)))) s (two requests an asset), about \(format((elapsed + Double(2 * (assets - written))) / 60)) minutes in all")
        } else {
            let result = await run.value
            let elapsed = (ContinuousClock.now - start).seconds
            guard result.statistics.configsDeactivated == assets, result.statistics.configsConfirmed == assets else {
                throw BenchmarkError("Halo batched run: \(result.statistics)")
            }
            let requests = await simulator.acceptedRequests
            let refused = await simulator.rateLimited
            let posts = await simulator.assetPostSizes
            print(
                "batch_size \(batchSize) (default): \(format2(elapsed)) s, \(assets) deactivated and \(result.statistics.configsConfirmed ?? 0) confirmed inactive, \(requests) requests accepted (\(posts.count) POSTs), \(refused) answered 429")
        }
        try await httpClient.shutdown()
        await server.stop()
    }
}
