import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingSandbox
import OffboardingService
import PSASimulators

/// The nightly sweep against a PSA that keeps every client that ever left: 3,000 departed clients
/// holding nothing active, 20 departed clients with active configurations, 200 current clients,
/// 20 ms a request, each PSA's default pacing. Its cost should follow the chunks and what it
/// finds, not the departed clients.
func sweepBenchmark() async throws {
    let (departed, leftBehind, current) = (3_000, 20, 200)
    print("== sweep: \(departed) departed clients with nothing active, \(leftBehind) departed with active configurations, \(current) current clients; 20 ms latency, default pacing")
    for psa in PSAKind.allCases {
        let sandbox = try PSASandbox.make(psa, dataset: .empty)
        let tenant = sandbox.tenant
        for index in 0..<departed { _ = await tenant.addClient(id: 300_000 + index, name: "Departed \(index)", offboarded: true, active: 0, inactive: 1) }
        for index in 0..<leftBehind { _ = await tenant.addClient(id: 310_000 + index, name: "Left behind \(index)", offboarded: true, active: 2, inactive: 0) }
        for index in 0..<current { _ = await tenant.addClient(id: 320_000 + index, name: "Current \(index)", offboarded: false, active: 3, inactive: 0) }
        await tenant.setLatency(.milliseconds(20))
        let server = try await SimulatorServer.start(router: tenant.makeRouter(), logger: logger)
        let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 8)
        let configuration = withDefaultPacing(sandbox.configuration(server.baseURL))
        let client = OffboarderRuntime.makePSAClient(configuration, httpClient: httpClient, logger: logger)
        var events = 0
        let report = try await Sweeper(psa: client, offboardedStatuses: ["Inactive", "Offboarded"], logger: logger).sweep(slot: "bench") { _ in events += 1 }
        guard events == leftBehind, report.failures.isEmpty else { throw BenchmarkError("\(psa) sweep: \(events) events, failures \(report.failures.prefix(3))") }
        let served = await tenant.acceptedRequests
        print(
            "\(psa): \(events) events in \(format2(report.duration.seconds)) s, \(report.requests) requests (the simulator served \(served)), "
                + "\(report.companiesChecked) offboarded clients checked; one listing per client would be \(report.companiesChecked)+ requests")
        try await httpClient.shutdown()
        await server.stop()
    }
}
