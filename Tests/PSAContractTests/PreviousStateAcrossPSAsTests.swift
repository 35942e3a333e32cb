import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// Every configuration a run deactivates keeps, in the result, the PSA's own state from before
/// (what restoring needs) and the stamp the PSA reports after the write (what shows an edit since).
@Suite(.timeLimit(.minutes(2)))
struct PreviousStateAcrossPSAsTests {
    @Test(arguments: PSAKind.allCases)
    func aDeactivatedConfigurationKeepsItsPreviousStateAndTheStampItWasLeftWith(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        try await harness.waitForAssignment()
        let (client, configs) = await harness.makeClient(active: 3, inactive: 1)
        let event = harness.event(forClient: client, options: .init(includeArchived: true))
        try await harness.send(event)
        let (record, result) = try await harness.result(for: event.id)
        #expect(result.statistics.configsDeactivated == 3)
        // As the PSA reports them now, read by another client.
        let now = try await PSAUnderTest.freshClient(of: harness) { try await $0.listConfigurations(companyID: String(client), includeArchived: true) }
        for config in result.configs {
            guard config.action == .deactivated else {
                #expect(config.psaPrevious == nil, "skipped \(config.configID): nothing to restore")
                continue
            }
            let previous = try #require(config.psaPrevious, "\(config.configID)")
            #expect(previous.active)
            let current = try #require(now.first { $0.id == config.configID })
            switch psa {
            case .connectwise:
                #expect(previous.status == .init(id: "1", name: "Active"), "the exact previous status, not just an open one")
                #expect(previous.lastModified != nil && previous.lastModified == current.lastModified)
            case .autotask:
                #expect(previous.status == nil)
                #expect(previous.lastModified != nil && previous.lastModified == current.lastModified)
            case .halopsa:
                #expect(previous.status?.id == "1" && previous.lastModified == nil, "Halo reports no stamp this adapter relies on")
            }
        }
        #expect(result.configs.contains { $0.configID == String(configs[3]) && $0.action == .skipped })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any])
        let first = try #require((json["configs"] as? [[String: Any]])?.first { $0["action"] as? String == "deactivated" })
        #expect((first["psa_previous"] as? [String: Any])?["active"] as? Bool == true, "on the wire as psa_previous")
    }
}
