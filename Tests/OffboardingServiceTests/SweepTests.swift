import AsyncHTTPClient
import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingSandbox
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// The scheduled trigger: the sweep over each PSA's simulator. (`psa-offboarder sweep` putting its
/// events on a real topic: `SweepTests` of OffboardingProcessTests.)
@Suite struct SweepTests {
    /// An empty tenant of the PSA's simulator, served on loopback, and a client of its adapter;
    /// both stopped after `body`.
    func withTenant(_ psa: PSAKind, _ body: (any SimulatedTenant, any PSAClient) async throws -> Void) async throws {
        let (tenant, configuration) = SimulatedPSAs.make(psa)
        let server = try await SimulatorServer.start(router: tenant.makeRouter(), logger: .test())
        let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 4)
        let client = OffboarderRuntime.makePSAClient(configuration(server.baseURL), httpClient: httpClient, logger: .test())
        do {
            try await body(tenant, client)
        } catch {
            try? await httpClient.shutdown()
            await server.stop()
            throw error
        }
        try await httpClient.shutdown()
        await server.stop()
    }

    @Test(arguments: PSAKind.allCases)
    func theSweepFindsOffboardedClientsThatStillHaveActiveConfigurations(psa: PSAKind) async throws {
        try await withTenant(psa) { tenant, client in
            _ = await tenant.addClient(id: 700_001, name: "Still active configs", offboarded: true, active: 2, inactive: 1)
            _ = await tenant.addClient(id: 700_002, name: "Already done", offboarded: true, active: 0, inactive: 3)
            _ = await tenant.addClient(id: 700_003, name: "Current client", offboarded: false, active: 4, inactive: 0)
            let statuses = ["Inactive", "Offboarded"]
            var emitted: [CompanyStatusChangedEvent] = []
            let report = try await Sweeper(psa: client, offboardedStatuses: statuses, logger: .test()).sweep(slot: "20261122T0200Z") { emitted.append($0) }

            let ids = Set(emitted.map(\.companyID))
            #expect(ids.contains("700001"))
            #expect(!ids.contains("700002") && !ids.contains("700003"))
            #expect(report.eventIDs == emitted.map(\.id))
            #expect(emitted.allSatisfy { $0.trigger == .schedule && $0.id == "schedule-20261122T0200Z-\($0.companyID)" })
            // Every event is for a client that is offboarded and has active configurations, as the PSA says.
            let criteria = OffboardingOptions(offboardedStatuses: statuses)
            for event in emitted {
                let company = try await client.findCompany(.id(event.companyID))
                #expect(company.statusNames.contains(where: criteria.isOffboarded(status:)))
                #expect(try await client.listConfigurations(companyID: event.companyID, includeArchived: false).contains(where: \.isActive))
            }
        }
    }

    /// A PSA keeps every client that ever left: the sweep's cost grows with the departed clients
    /// divided by the PSA's chunk and with what it finds, not one request per departed client
    /// (ConnectWise and HaloPSA 100 companies a query, Autotask 500).
    @Test(arguments: PSAKind.allCases)
    func theSweepsRequestsGrowWithTheChunksNotWithTheDepartedClients(psa: PSAKind) async throws {
        try await withTenant(psa) { tenant, client in
            for index in 0..<600 { _ = await tenant.addClient(id: 710_000 + index, name: "Departed \(index)", offboarded: true, active: 0, inactive: 1) }
            for index in 0..<5 { _ = await tenant.addClient(id: 711_000 + index, name: "Left behind \(index)", offboarded: true, active: 2, inactive: 0) }
            for index in 0..<20 { _ = await tenant.addClient(id: 712_000 + index, name: "Current \(index)", offboarded: false, active: 3, inactive: 0) }
            var emitted: [String] = []
            let report = try await Sweeper(psa: client, offboardedStatuses: ["Inactive", "Offboarded"], logger: .test()).sweep(slot: "s") { emitted.append($0.companyID) }
            #expect(Set(emitted) == Set((0..<5).map { String(711_000 + $0) }) && emitted.count == 5)
            #expect(report.companiesChecked == 605 && report.failures.isEmpty)
            let served = await tenant.acceptedRequests
            // Every request the PSA served was the sweep's, counted once; HaloPSA's token and Autotask's
            // one request outside the API (the simulators count API requests only) come on top.
            let outsideTheAPI = psa == .connectwise ? 0 : 1
            #expect(report.requests == served + outsideTheAPI, "\(report.requests) counted, \(served) API requests served")
            print("sweep \(psa): 605 departed clients, \(report.requests) requests")
            // The companies' pages, the statuses (or a token), and one query per chunk of clients: 605
            // of them make 7 chunks of 100 (ConnectWise, HaloPSA) or 2 of 500 (Autotask).
            #expect(report.requests <= 14, "\(psa): \(report.requests) requests")
        }
    }

    /// A chunk the PSA refuses (one company it will not show) is asked again company by company:
    /// the others are still checked, and only the refused one waits for the next sweep.
    @Test func aRefusedChunkIsAskedCompanyByCompany() async throws {
        try await withTenant(.connectwise) { tenant, client in
            for index in 0..<3 { _ = await tenant.addClient(id: 713_000 + index, name: "Left \(index)", offboarded: true, active: 1, inactive: 0) }
            await tenant.failListing(ofClient: 713_001, status: 403, retryAfterSeconds: nil, times: nil)
            var emitted: [String] = []
            let report = try await Sweeper(psa: client, offboardedStatuses: ["Offboarded"], logger: .test()).sweep(slot: "s") { emitted.append($0.companyID) }
            #expect(Set(emitted) == ["713000", "713002"] && report.failures == ["713001"])
        }
    }
}

@Suite struct CronScheduleTests {
    static func date(_ text: String) -> Date { Timestamp.date(from: text)! }

    @Test func nextFireTimesFollowTheFields() throws {
        #expect(try CronSchedule(parsing: "0 2 * * *").next(after: Self.date("2026-11-22T01:59:30Z")) == Self.date("2026-11-22T02:00:00Z"))
        #expect(try CronSchedule(parsing: "0 2 * * *").next(after: Self.date("2026-11-22T02:00:00Z")) == Self.date("2026-11-23T02:00:00Z"))
        #expect(try CronSchedule(parsing: "*/15 * * * *").next(after: Self.date("2026-11-22T10:16:00Z")) == Self.date("2026-11-22T10:30:00Z"))
        // 2026-11-22 is a Sunday: the next Monday 06:30.
        #expect(try CronSchedule(parsing: "30 6 * * 1").next(after: Self.date("2026-11-22T12:00:00Z")) == Self.date("2026-11-23T06:30:00Z"))
        #expect(try CronSchedule(parsing: "0 0 1 1 *").next(after: Self.date("2026-11-22T12:00:00Z")) == Self.date("2027-01-01T00:00:00Z"))
        #expect(try CronSchedule(parsing: "0 9-17/4 * * 1-5").next(after: Self.date("2026-11-23T09:00:00Z")) == Self.date("2026-11-23T13:00:00Z"))
    }

    @Test func badExpressionsNameTheField() {
        for (text, fragment) in [("0 2 * *", "5 fields"), ("61 * * * *", "minute"), ("* 24 * * *", "hour"), ("* * * * 8", "day of week"), ("*/0 * * * *", "step")] {
            #expect(throws: CronSchedule.ParseError.self) { try CronSchedule(parsing: text) }
            do {
                _ = try CronSchedule(parsing: text)
            } catch {
                #expect(error.message.contains(fragment), "\(text): \(error.message)")
            }
        }
    }
}
