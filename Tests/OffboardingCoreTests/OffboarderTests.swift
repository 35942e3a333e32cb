import Foundation
import Logging
import OffboardingTestSupport
import OffboardingCore
import Synchronization
import Testing

/// The offboarding run against an in-memory PSA, for what the pipeline tests do not reach.
@Suite struct OffboarderTests {
    final class MemoryPSA: PSAClient {
        let kind = PSAKind.connectwise
        let company: PSACompany
        let configs: Mutex<[PSAItem]>
        let failing: Set<String>
        let inFlight = Mutex((now: 0, max: 0))
        /// Every configuration a deactivation was sent for, in order.
        let written = Mutex<[String]>([])

        init(company: PSACompany, configs: [PSAItem], failing: Set<String> = []) {
            self.company = company
            self.configs = Mutex(configs)
            self.failing = failing
        }

        func findCompany(_ reference: ClientReference) async throws(PSAError) -> PSACompany {
            guard reference == .id(company.id) || reference == .name(company.name) else {
                throw PSAError(code: .clientNotFound, message: "no")
            }
            return company
        }

        /// Every configuration belongs to the one company, as a PSA's listing by company says.
        func listConfigurations(companyID: String, includeArchived: Bool) async throws(PSAError) -> [PSAItem] {
            configs.withLock { $0 }.filter { includeArchived || $0.isActive }.map { config in
                var owned = config
                owned.companyID = owned.companyID ?? company.id
                return owned
            }
        }

        var writesNotes: Bool { false }
        func listCompanies(withStatuses statuses: [String]) async throws(PSAError) -> [PSACompany] { [company] }
        func listCompanies(withTypes types: [String]) async throws(PSAError) -> [PSACompany] { [] }
        func listContracts(companyID: String) async throws(PSAError) -> [PSAContract] { [] }
        func listContracts(endedBefore date: Date) async throws(PSAError) -> [PSAContract] { [] }
        func billingStillActive(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSABillingTie] { [] }
        func openAlerts(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSAOpenAlert] { [] }
        func probe() async throws(PSAError) {}

        func deactivate(_ configuration: PSAItem, note: ReasonNote?) async throws(PSAError) -> PSAItem {
            // As the HTTP transport does for every attempt: the request holds a place of the
            // offboarding's bound while it is in flight.
            guard let bound = PSAInFlight.bound else { return try await write(configuration).get() }
            let outcome: Result<PSAItem, PSAError>
            do {
                outcome = try await bound.withPermit { await write(configuration) }
            } catch {
                throw PSAError(code: .psaConnectionError, message: "cancelled", isRetriable: true)
            }
            return try outcome.get()
        }

        private func write(_ configuration: PSAItem) async -> Result<PSAItem, PSAError> {
            inFlight.withLock { $0.now += 1; $0.max = max($0.max, $0.now) }
            written.withLock { $0.append(configuration.id) }
            await Task.yield()
            defer { inFlight.withLock { $0.now -= 1 } }
            if failing.contains(configuration.id) { return .failure(PSAError(code: .configUpdateFailed, message: "rule", httpStatus: 500)) }
            configs.withLock { configs in
                if let index = configs.firstIndex(where: { $0.id == configuration.id }) { configs[index].isActive = false }
            }
            var updated = configuration
            updated.isActive = false
            return .success(updated)
        }

        func restore(_ restoration: PSARestoration, note: ReasonNote?) async throws(PSAError) -> PSAItem {
            let id = restoration.configuration.id
            written.withLock { $0.append(id) }
            if failing.contains(id) { throw PSAError(code: .configUpdateFailed, message: "rule", httpStatus: 500) }
            return configs.withLock { configs in
                guard let index = configs.firstIndex(where: { $0.id == id }) else { return restoration.configuration }
                configs[index].isActive = restoration.previous.active
                configs[index].statusID = restoration.previous.status?.id ?? configs[index].statusID
                return configs[index]
            }
        }
    }

    let options = OffboardingOptions(offboardedStatuses: ["Offboarded"])

    @Test func failedUpdatesAreReportedPerConfigAndStatisticsAddUp() async {
        let configs = (1...20).map { PSAItem(id: "\($0)", name: "c\($0)", isActive: $0 <= 17) }
        let psa = MemoryPSA(company: .init(id: "1", name: "A", status: "Offboarded"), configs: configs, failing: ["3", "5"])
        let result = await Offboarder(psa: psa, configuration: .init(maxConcurrentUpdates: 4), logger: .test())
            .run(.init(eventID: "e", trigger: .manual, client: .name("A"), options: OffboardingOptions(includeArchived: true, offboardedStatuses: ["offboarded"])))
        #expect(!result.success)
        #expect(result.clientID == "1")
        #expect(result.statistics == .init(configsFound: 20, configsDeactivated: 15, configsSkipped: 3, errors: 2, configsConfirmed: 15))
        #expect(result.statistics.configsDeactivated + result.statistics.configsSkipped + result.statistics.errors == result.statistics.configsFound)
        #expect(Set(result.errors.compactMap(\.configID)) == ["3", "5"])
        #expect(result.errors.allSatisfy { $0.code == .configUpdateFailed })
        #expect(result.configs.map(\.configID) == configs.map(\.id), "configs keep the PSA's order")
        #expect(psa.inFlight.withLock { $0.max } <= 4)
    }

    @Test func noConfigurationsIsAWarningNotAFailure() async {
        let psa = MemoryPSA(company: .init(id: "1", name: "A", status: "Offboarded"), configs: [])
        let result = await Offboarder(psa: psa, logger: .test()).run(.init(eventID: "e", trigger: .event, client: .id("1"), options: options))
        #expect(result.success)
        #expect(result.warnings.map(\.code) == [.configNotFound])
    }

    @Test func requireApprovalChangesNothingAndListsPendingConfigs() async {
        let psa = MemoryPSA(company: .init(id: "1", name: "A", status: "Offboarded"), configs: [.init(id: "1", name: "x", isActive: true)])
        var options = self.options
        options.requireApproval = true
        let result = await Offboarder(psa: psa, logger: .test()).run(.init(eventID: "e", trigger: .event, client: .id("1"), options: options))
        #expect(result.configs.map(\.action) == [.pendingApproval])
        #expect(result.approval?.state == .pending)
        #expect(result.statistics.configsDeactivated == 0)
        #expect(psa.inFlight.withLock { $0.max } == 0)
    }

    @Test func aPlanWritesNothingAndItsJournalNamesWhatTheWriteThenDeactivates() async throws {
        let configs: [PSAItem] = [.init(id: "1", name: "a", isActive: true), .init(id: "2", name: "b", isActive: false), .init(id: "3", name: "c", isActive: true)]
        let psa = MemoryPSA(company: .init(id: "1", name: "A", status: "Offboarded"), configs: configs)
        let offboarder = Offboarder(psa: psa, logger: .test())
        let request = OffboardingRequest(eventID: "e", trigger: .event, client: .id("1"), options: OffboardingOptions(offboardedStatuses: ["Offboarded"]))
        guard case .writes(let plan) = await offboarder.plan(.offboard(request)) else {
            Issue.record("two active configurations are written")
            return
        }
        #expect(psa.written.withLock { $0 }.isEmpty, "planning writes nothing")
        #expect(plan.journal?.configs.map(\.configID) == ["1", "3"])
        #expect(plan.journal?.eventID == "e" && plan.journal?.attempt == 1)
        // A preview ends at the plan.
        var preview = request
        preview.options.dryRun = true
        guard case .finished(let previewed) = await offboarder.plan(.offboard(preview)) else {
            Issue.record("a dry run writes nothing")
            return
        }
        #expect(previewed.result.configs.filter { $0.action == .wouldDeactivate }.map(\.configID) == ["1", "3"])
        let outcome = await offboarder.write(plan)
        #expect(psa.written.withLock { $0 }.sorted() == ["1", "3"])
        #expect(outcome.result.statistics.configsDeactivated == 2)
    }
}
