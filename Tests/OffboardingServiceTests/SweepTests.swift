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
    @Test(arguments: PSAKind.allCases)
    func theSweepFindsOffboardedClientsThatStillHaveActiveConfigurations(psa: PSAKind) async throws {
        let (tenant, configuration) = SimulatedPSAs.make(psa)
        let server = try await SimulatorServer.start(router: tenant.makeRouter(), logger: .test())
        let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 4)
        let client = OffboarderRuntime.makePSAClient(configuration(server.baseURL), httpClient: httpClient, logger: .test())
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
        try await httpClient.shutdown()
        await server.stop()
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
