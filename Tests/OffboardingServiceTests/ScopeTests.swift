import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// Partial scope and the blast-radius limit, through the ConnectWise adapter and its simulator.
@Suite struct ScopeTests {
    func setUp() async throws -> (ConnectWiseSimulator, SimulatorServer, HTTPClient, any PSAClient) {
        let simulator = ConnectWiseSimulator(data: .sample())
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 4)
        let (_, configuration) = SimulatedPSAs.make(.connectwise)
        _ = configuration
        let credentials = ConnectWiseSimulator.Credentials.sandbox
        let client = OffboarderRuntime.makePSAClient(
            .connectwise(
                .init(
                    baseURL: server.baseURL + ConnectWiseSimulator.apiPath, companyID: credentials.companyID, publicKey: credentials.publicKey,
                    privateKey: credentials.privateKey, clientID: credentials.clientID)),
            httpClient: httpClient, logger: .test())
        let active = ConnectWiseDataset.activeConfigurationStatus.id
        await simulator.add(
            company: .init(id: 800_001, identifier: "Scope", name: "Scope Client", status: ConnectWiseDataset.offboardedCompanyStatus),
            configurations: [
                .init(id: 1, name: "Firewall", companyID: 800_001, statusID: active, typeName: "Firewall"),
                .init(id: 2, name: "Server", companyID: 800_001, statusID: active, typeName: "Managed Server"),
                .init(id: 3, name: "Laptop", companyID: 800_001, statusID: active, typeName: "Workstation"),
                .init(id: 4, name: "Licence", companyID: 800_001, statusID: active, typeName: "Software Licence"),
            ])
        return (simulator, server, httpClient, client)
    }

    func request(_ reason: String? = "Contract ended") -> OffboardingRequest {
        OffboardingRequest(eventID: "scope-\(UUID().uuidString)", trigger: .api, client: .id("800001"), options: .init(reason: reason, offboardedStatuses: ["Offboarded"]))
    }

    @Test func typesOutOfScopeAreLeftAndSaidSo() async throws {
        let (simulator, server, httpClient, client) = try await setUp()
        let scope = OffboardingScope(includeTypes: ["managed server", "Workstation", "Firewall"], excludeTypes: ["Firewall"])
        let result = await Offboarder(psa: client, configuration: .init(scope: scope), logger: .test()).run(request())
        #expect(result.statistics.configsDeactivated == 2)
        #expect(result.statistics.configsSkipped == 2)
        #expect(Set(result.configs.filter { $0.skipReason == .outOfScope }.map(\.configID)) == ["1", "4"])
        #expect(result.warnings.map(\.code) == [.outOfScope])
        for (id, active) in [(1, true), (2, false), (3, false), (4, true)] {
            #expect(await simulator.isConfigurationActive(id) == active, "configuration \(id)")
        }
        try await httpClient.shutdown()
        await server.stop()
    }

    @Test func moreConfigurationsThanTheLimitNeedAnApproval() async throws {
        let (simulator, server, httpClient, client) = try await setUp()
        let limited = Offboarder(psa: client, configuration: .init(scope: .init(maxConfigs: 3)), logger: .test())
        let outcome = await limited.runDetailed(request())
        #expect(outcome.result.approval?.state == .pending)
        #expect(outcome.result.approval?.cause == .maxConfigs)
        #expect(outcome.result.warnings.contains { $0.code == .blastRadiusExceeded && $0.message.contains("more than scope.max_configs (3)") })
        #expect(outcome.pendingApproval?.configs.count == 4)
        #expect(await simulator.deactivationWrites(forClient: 800_001) == 0)
        // A dry run previews instead, and at the limit nothing waits.
        var dry = request()
        dry.options.dryRun = true
        #expect(await limited.run(dry).approval == nil)
        let atLimit = await Offboarder(psa: client, configuration: .init(scope: .init(maxConfigs: 4)), logger: .test()).run(request())
        #expect(atLimit.statistics.configsDeactivated == 4)
        try await httpClient.shutdown()
        await server.stop()
    }

    @Test func theReasonIsWrittenOnceAndAppendedToExistingNotes() async throws {
        let (simulator, server, httpClient, client) = try await setUp()
        await simulator.setNotes("Installed 2019", ofConfiguration: 2)
        let first = request("Contract ended")
        _ = await Offboarder(psa: client, logger: .test()).run(first)
        let notes = await simulator.notes(ofConfiguration: 2) ?? ""
        #expect(notes.hasPrefix("Installed 2019\n[psa-offboarder] "))
        #expect(notes.hasSuffix("deactivated (event \(first.eventID)): Contract ended"))
        // The same event again (a retry request carries no notes): read, and not written twice.
        _ = await Offboarder(psa: client, logger: .test()).retry([PSAItem(id: "2", name: "Server", isActive: true)], for: first, attempt: 2)
        #expect(await simulator.notes(ofConfiguration: 2) == notes)
        // Switched off: no notes operation at all.
        await simulator.setNotes("", ofConfiguration: 3)
        let quiet = Offboarder(psa: client, configuration: .init(writeReasonToNotes: false), logger: .test())
        _ = await quiet.retry([PSAItem(id: "3", name: "Laptop", isActive: true)], for: request(), attempt: 2)
        #expect(await simulator.notes(ofConfiguration: 3) == "")
        try await httpClient.shutdown()
        await server.stop()
    }
}
