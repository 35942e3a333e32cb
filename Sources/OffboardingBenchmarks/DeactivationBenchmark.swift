import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingService
import PSAConnectWise
import PSASimulators

/// Deactivating ConnectWise configurations at 20 ms simulated latency in process, by bound.
func deactivationBenchmark(configCount: Int) async throws {

    print("\n== deactivating \(configCount) ConnectWise configurations, 20 ms simulated latency per PSA request")
    let data: ConnectWiseDataset = {
        var data = ConnectWiseDataset.empty()
        data.companies = [.init(id: 1, identifier: "Bench", name: "Bench", status: ConnectWiseDataset.offboardedCompanyStatus)]
        data.configurations = (1...configCount).map { .init(id: $0, name: "Device \($0)", companyID: 1, statusID: 1) }
        return data
    }()

    func deactivationTime(bound: Int) async throws -> (Double, OffboardingResult) {
        let simulator = ConnectWiseSimulator(data: data)
        await simulator.setLatency(.milliseconds(20))
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: logger)
        let credentials = ConnectWiseSimulator.Credentials.sandbox
        let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: bound)
        // Only the bound limits concurrency here (no rate_limit.max_in_flight), so its effect shows.
        let client = ConnectWiseClient(
            configuration: .init(
                baseURL: server.baseURL + ConnectWiseSimulator.apiPath, companyID: credentials.companyID, publicKey: credentials.publicKey,
                privateKey: credentials.privateKey, clientID: credentials.clientID, http: .init()),
            httpClient: httpClient, logger: logger)
        let offboarder = Offboarder(psa: client, configuration: .init(maxConcurrentUpdates: bound), logger: logger)
        let start = ContinuousClock.now
        let result = await offboarder.run(.init(eventID: "bench", trigger: .manual, client: .id("1"), options: .init(offboardedStatuses: ["Offboarded"])))
        let elapsed = (ContinuousClock.now - start).seconds
        try await httpClient.shutdown()
        await server.stop()
        guard result.statistics.configsDeactivated == configCount else { throw SimulatorError("deactivated \(result.statistics.configsDeactivated)") }
        return (elapsed, result)
    }

    let nominal = Double(configCount) * 0.020
    let (sequential, _) = try await deactivationTime(bound: 1)
    print("bound 1 (one by one, measured): \(String(format: "%.2f", sequential)) s; nominal \(configCount) x 20 ms = \(String(format: "%.2f", nominal)) s")
    for bound in [8, 32] {
        let (elapsed, _) = try await deactivationTime(bound: bound)
        print("bound \(bound)\(bound == 8 ? " (default)" : ""): \(String(format: "%.2f", elapsed)) s, \(String(format: "%.1f", sequential / elapsed))x faster than measured one-by-one, \(String(format: "%.1f", nominal / elapsed))x faster than nominal sequential")
    }
}
