import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// The reason line on every PSA: written once per configuration and event (through a lost write
/// written again, and a later retry by another process), after the MSP's own notes, never over them.
@Suite(.timeLimit(.minutes(2)))
struct NotesAcrossPSAsTests {
    @Test(arguments: PSAKind.allCases)
    func theReasonIsWrittenOnceBesideTheMSPsNotes(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        try await harness.waitForAssignment()
        let tenant = harness.tenant
        let (client, configs) = await harness.makeClient(active: 3)
        await tenant.addMSPNote("Rack 4, see KB-12 <b>keep</b>", toConfiguration: configs[0])
        // The first write of this one is answered as applied and lost: the run writes it again.
        await tenant.loseWrites(ofConfiguration: configs[1], times: 1)
        let event = harness.event(forClient: client, options: .init(reason: "Contract ended"))
        try await harness.send(event)
        let (_, result) = try await harness.result(for: event.id)
        #expect(result.success && result.statistics.configsDeactivated == 3, "\(result.statistics)")
        func reasonLines(_ config: Int) async -> [String] {
            await tenant.noteLines(ofConfiguration: config).filter { $0.contains("(event \(event.id))") }
        }
        for config in configs {
            let lines = await reasonLines(config)
            #expect(lines.count == 1, "configuration \(config): \(lines)")
            #expect(lines.first?.hasSuffix(": Contract ended") == true && lines.first?.hasPrefix(ReasonNote.marker) == true)
        }
        #expect(await tenant.noteLines(ofConfiguration: configs[0]).first == "Rack 4, see KB-12 <b>keep</b>", "the MSP's text comes first, unchanged")

        // A retry of the same event by another process (a fresh client, nothing cached) adds nothing.
        let request = OffboardingRequest(
            eventID: event.id, trigger: .event, client: .id(String(client)), options: .init(reason: "Contract ended", offboardedStatuses: ["Offboarded"]))
        let retried = try await PSAUnderTest.freshClient(of: harness) { psaClient in
            await Offboarder(psa: psaClient, logger: .test()).retry(configs.map { PSAItem(id: String($0), name: "", isActive: true) }, for: request, attempt: 2)
        }
        #expect(retried.result.success, "\(retried.result.errors)")
        for config in configs { #expect(await reasonLines(config).count == 1, "configuration \(config) after the retry") }
    }
}
