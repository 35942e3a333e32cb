import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// After the writes, on every PSA through the running pipeline: billing still in effect and open
/// alerts tied to what was deactivated are warnings naming the PSA record and the configurations;
/// billing that ended is not; a check that cannot be made is said, and the deactivation stands.
@Suite(.timeLimit(.minutes(2)))
struct PostChecksAcrossPSAsTests {
    static let day: TimeInterval = 86_400

    @Test(arguments: PSAKind.allCases)
    func billingInEffectAndOpenAlertsAreNamedWithTheirConfigurations(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        try await harness.waitForAssignment()
        let tenant = harness.tenant
        let (client, configs) = await harness.makeClient(active: 4)
        let current = client * 10
        let ended = client * 10 + 1
        await tenant.addContract(toClient: client, contractID: current, name: "Managed services", end: Date() + 100 * Self.day, inEffect: true)
        await tenant.addContract(toClient: client, contractID: ended, name: "Old backup", end: Date() - 100 * Self.day, inEffect: false)
        let service = current * 10 + 7
        if let autotask = tenant as? AutotaskSimulator {
            // Billed through a service of the contract, the item naming the service only.
            await autotask.tieConfiguration(configs[1], toService: service, ofContract: current)
        } else {
            await tenant.tieConfiguration(configs[1], toContract: current)
        }
        await tenant.tieConfiguration(configs[0], toContract: current)
        await tenant.tieConfiguration(configs[2], toContract: ended)
        await tenant.openAlert(onConfiguration: configs[3], ofClient: client, alertID: client * 100, summary: "Disk almost full")
        let halo = tenant as? HaloSimulator
        await halo?.addRecurringInvoice(toClient: client, invoiceID: client * 1000, contractID: current)
        let quiet = await harness.makeClient(active: 2).id

        let event = harness.event(forClient: client)
        try await harness.send(event)
        let (_, result) = try await harness.result(for: event.id)
        #expect(result.success && result.statistics.configsDeactivated == 4, "the checks report, they change nothing: \(result.statistics)")
        let billing = result.warnings.filter { $0.code == .billingStillActive }
        let contract = try #require(billing.first { $0.psaRecord?.id == String(current) }, "\(result.warnings)")
        #expect(contract.configIDs == [configs[0], configs[1]].map(String.init).sorted())
        #expect(contract.psaRecord?.kind == (psa == .connectwise ? "agreement" : "contract") && contract.psaRecord?.name == "Managed services")
        #expect(contract.message.contains("Managed services") && contract.message.contains(String(configs[0])), "\(contract.message)")
        #expect(!billing.contains { $0.psaRecord?.id == String(ended) }, "a contract that ended is not billing")
        if psa == .connectwise { #expect(contract.message.contains("MANAGED-ENDPOINT"), "the agreement's additions are named") }
        if psa == .autotask {
            #expect(contract.message.contains("configuration \(configs[1]) through contract service \(service)"), "\(contract.message)")
        }
        if psa == .halopsa {
            #expect(billing.contains { $0.psaRecord == .init(kind: "recurring invoice", id: String(client * 1000), name: "RI-\(client * 1000)") })
        }
        #expect(billing.count == (psa == .halopsa ? 2 : 1), "\(billing)")
        let alerts = result.warnings.filter { $0.code == .alertsStillOpen }
        switch psa {
        case .autotask:
            // Autotask counts RMM alerts on the item itself.
            #expect(alerts.map(\.configIDs) == [[String(configs[3])]] && alerts.first?.psaRecord?.kind == "rmm alerts")
        case .connectwise, .halopsa:
            // Tickets of the client: the API this adapter relies on cannot tie them to an item.
            #expect(alerts.map(\.psaRecord?.id) == [String(client * 100)] && alerts.first?.psaRecord?.kind == "ticket")
            #expect(alerts.first?.message.contains("Disk almost full") == true)
        }

        let clean = harness.event(forClient: quiet)
        try await harness.send(clean)
        let (_, cleanResult) = try await harness.result(for: clean.id)
        #expect(cleanResult.success && cleanResult.warnings.isEmpty, "nothing still tied: no warning, \(cleanResult.warnings)")
    }

    @Test func aCheckThatCannotBeMadeIsSaidAndTheDeactivationStands() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { _ in }
        do {
            try await harness.waitForAssignment()
            let (client, configs) = await harness.makeClient(active: 2)
            let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
            await simulator.inject(SimulatorFault(method: "GET", pathContains: "service/tickets", status: 403, times: nil))
            let event = harness.event(forClient: client)
            try await harness.send(event)
            let (_, result) = try await harness.result(for: event.id)
            #expect(result.success && result.statistics.configsDeactivated == 2)
            #expect(result.warnings.map(\.code) == [.checkFailed], "\(result.warnings)")
            #expect(result.warnings.first?.message.contains("open alerts") == true)
            for config in configs { #expect(await harness.tenant.isConfigurationActive(config) == false) }
            try await harness.stop()
        } catch {
            try? await harness.stop()
            throw error
        }
    }
}
