import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// The criteria beyond the status name, on every PSA, through the running pipeline and the sweep:
/// company type, contract end, `match`, and ConnectWise's `inactiveFlag`.
@Suite(.timeLimit(.minutes(3)))
struct CriteriaAcrossPSAsTests {
    static let day: TimeInterval = 86_400

    /// Clients whose status says nothing: each is offboarded by another criterion, or not at all.
    struct Clients {
        var churned: Int
        var endedLongAgo: Int
        var endedRecently: Int
        var oneStillInEffect: Int
        var churnedAndEnded: Int
        var offboardedByStatus: Int
    }

    func makeClients(_ harness: PipelineHarness) async -> Clients {
        let tenant = harness.tenant
        let now = Date()
        let churned = await harness.makeClient(offboarded: false, active: 3).id
        await tenant.setCompanyType("Churned", ofClient: churned)
        let endedLongAgo = await harness.makeClient(offboarded: false, active: 3).id
        await tenant.addContract(toClient: endedLongAgo, contractID: endedLongAgo * 10, name: "Managed services", end: now - 90 * Self.day, inEffect: false)
        await tenant.addContract(toClient: endedLongAgo, contractID: endedLongAgo * 10 + 1, name: "Backup", end: now - 60 * Self.day, inEffect: false)
        let endedRecently = await harness.makeClient(offboarded: false, active: 3).id
        await tenant.addContract(toClient: endedRecently, contractID: endedRecently * 10, name: "Managed services", end: now - 10 * Self.day, inEffect: false)
        let oneStillInEffect = await harness.makeClient(offboarded: false, active: 3).id
        await tenant.addContract(toClient: oneStillInEffect, contractID: oneStillInEffect * 10, name: "Old", end: now - 200 * Self.day, inEffect: false)
        await tenant.addContract(toClient: oneStillInEffect, contractID: oneStillInEffect * 10 + 1, name: "Current", end: now + 100 * Self.day, inEffect: true)
        let churnedAndEnded = await harness.makeClient(offboarded: false, active: 3).id
        await tenant.setCompanyType("Churned", ofClient: churnedAndEnded)
        await tenant.addContract(toClient: churnedAndEnded, contractID: churnedAndEnded * 10, name: "Managed services", end: now - 45 * Self.day, inEffect: false)
        let offboardedByStatus = await harness.makeClient(offboarded: true, active: 3).id
        return Clients(
            churned: churned, endedLongAgo: endedLongAgo, endedRecently: endedRecently, oneStillInEffect: oneStillInEffect,
            churnedAndEnded: churnedAndEnded, offboardedByStatus: offboardedByStatus)
    }

    func sweep(_ harness: PipelineHarness, _ criteria: OffboardingCriteria) async throws -> Set<String> {
        let emitted = try await PSAUnderTest.freshClient(of: harness) { client in
            var emitted: [CompanyStatusChangedEvent] = []
            _ = try await Sweeper(psa: client, criteria: criteria, logger: .test()).sweep(slot: "20261202T0200Z") { emitted.append($0) }
            return emitted
        }
        #expect(emitted.allSatisfy { $0.trigger == .schedule })
        return Set(emitted.map(\.companyID))
    }

    @Test(arguments: PSAKind.allCases)
    func typeAndContractEndOffboardAClientWhateverItsStatus(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.isolated(psa) { configuration in
            configuration.companyTypes = ["Churned"]
            configuration.contractsEndedAfter = .seconds(30 * 86_400)
        }
        do {
            let clients = await makeClients(harness)
            let criteria = harness.configuration.criteria

            // The sweep finds exactly the clients a criterion calls offboarded, before any is run.
            let any = try await sweep(harness, criteria)
            #expect(any == Set([clients.churned, clients.endedLongAgo, clients.churnedAndEnded, clients.offboardedByStatus].map(String.init)))
            var all = criteria
            all.match = .all
            all.statuses = []
            #expect(try await sweep(harness, all) == [String(clients.churnedAndEnded)], "match all: both the type and the contract end")

            try await harness.waitForAssignment()
            // Status reports that name an active status: let through, because other criteria may hold.
            for (client, expected) in [(clients.churned, ["company_types"]), (clients.endedLongAgo, ["contracts_ended"]), (clients.churnedAndEnded, ["company_types", "contracts_ended"])] {
                let event = harness.event(forClient: client, status: "Active")
                try await harness.send(event)
                let (_, result) = try await harness.result(for: event.id)
                #expect(result.matched == expected, "client \(client)")
                #expect(result.success && result.statistics.configsDeactivated == 3, "client \(client): \(result.statistics)")
            }
            // Neither contract criterion holds: the status report is filtered, no result. A marker on
            // the same key (same lane) says when it has been handled.
            for client in [clients.endedRecently, clients.oneStillInEffect] {
                let filtered = harness.event(forClient: client, status: "Active")
                let marker = harness.event(forClient: client, options: .init(dryRun: true))
                try await harness.send(filtered)
                try await harness.send(marker)
                let (_, markerResult) = try await harness.result(for: marker.id)
                #expect(markerResult.warnings.map(\.code) == [.clientNotOffboarded], "reported offboarded, but no criterion holds in the PSA")
                #expect(markerResult.warnings.first?.message.contains("contracts_ended does not hold") == true, "\(markerResult.warnings)")
                #expect(harness.results(for: filtered.id).isEmpty, "client \(client): a filtered event has no result")
                #expect(await harness.tenant.deactivationWrites(forClient: client) == 0)
            }
            try await harness.stop()
        } catch {
            try? await harness.stop()
            throw error
        }
    }

    @Test(arguments: PSAKind.allCases)
    func matchAllNeedsEveryCriterion(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.isolated(psa) { configuration in
            configuration.companyTypes = ["Churned"]
            configuration.criteriaMatch = .all
        }
        do {
            let tenant = harness.tenant
            let offboardedOnly = await harness.makeClient(offboarded: true, active: 2).id
            let both = await harness.makeClient(offboarded: true, active: 2).id
            await tenant.setCompanyType("Churned", ofClient: both)
            let churnedOnly = await harness.makeClient(offboarded: false, active: 2).id
            await tenant.setCompanyType("Churned", ofClient: churnedOnly)
            #expect(try await sweep(harness, harness.configuration.criteria) == [String(both)])

            try await harness.waitForAssignment()
            let event = harness.event(forClient: both)
            try await harness.send(event)
            let (_, result) = try await harness.result(for: event.id)
            #expect(result.matched == ["status", "company_types"] && result.statistics.configsDeactivated == 2)
            // Under `all` the status must hold: a report of an active status is filtered at once.
            let filtered = harness.event(forClient: churnedOnly, status: "Active")
            let marker = harness.event(forClient: churnedOnly, options: .init(dryRun: true))
            try await harness.send(filtered)
            try await harness.send(marker)
            _ = try await harness.result(for: marker.id)
            #expect(harness.results(for: filtered.id).isEmpty)
            let request = harness.event(forClient: offboardedOnly, options: .init(dryRun: true))
            try await harness.send(request)
            let (_, refused) = try await harness.result(for: request.id)
            #expect(refused.warnings.map(\.code) == [.clientNotOffboarded] && refused.matched == nil)
            #expect(refused.warnings.first?.message.contains("match: all") == true, "\(refused.warnings)")
            try await harness.stop()
        } catch {
            try? await harness.stop()
            throw error
        }
    }

    /// A ConnectWise status renamed by the MSP still counts when it is flagged inactive.
    @Test func aConnectWiseStatusFlaggedInactiveCountsWhateverItsName() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { configuration in
            configuration.defaults.offboardedStatuses = ["Offboarded"]
        }
        do {
            let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
            let client = await harness.makeClient(offboarded: false, active: 2).id
            let goneAway = ConnectWiseDataset.Status(id: 9, name: "Gone Away")
            await simulator.defineCompanyStatus(goneAway, inactiveFlag: true)
            await simulator.setStatus(ofCompany: client, to: goneAway)
            let active = await harness.makeClient(offboarded: false, active: 2).id
            #expect(try await sweep(harness, harness.configuration.criteria) == [String(client)])

            try await harness.waitForAssignment()
            let event = harness.event(forClient: client, options: .init(reason: "left"))
            try await harness.send(event)
            let (_, result) = try await harness.result(for: event.id)
            #expect(result.matched == ["status"] && result.statistics.configsDeactivated == 2, "\(result.warnings)")
            let other = harness.event(forClient: active, options: .init(dryRun: true))
            try await harness.send(other)
            let (_, untouched) = try await harness.result(for: other.id)
            #expect(untouched.warnings.map(\.code) == [.clientNotOffboarded])
            try await harness.stop()
        } catch {
            try? await harness.stop()
            throw error
        }
    }
}
