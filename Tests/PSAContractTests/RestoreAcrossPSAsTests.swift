import Foundation
import OffboardingCore
import OffboardingTestSupport
import PSASimulators
import Testing

/// Undoing an offboarding through the running service, on every PSA: each configuration goes back
/// to its exact previous state, one edited in between is left alone and reported, a second restore
/// changes nothing, and a partially failed offboarding is undone only where it changed something.
@Suite(.timeLimit(.minutes(3)))
struct RestoreAcrossPSAsTests {
    @Test(arguments: PSAKind.allCases)
    func everyConfigurationGoesBackToItsPreviousStateExceptOneEditedSince(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        try await harness.waitForAssignment()
        let tenant = harness.tenant
        let (client, configs) = await harness.makeClient(active: 4, inactive: 1)
        let (loaned, edited, plain, alreadyInactive) = (configs[0], configs[1], configs[2], configs[4])
        await tenant.setSecondOpenStatus(ofConfiguration: loaned)
        let loanedStatus = await tenant.statusID(ofConfiguration: loaned)
        let plainStatus = await tenant.statusID(ofConfiguration: plain)
        let offboarding = harness.event(forClient: client)
        try await harness.send(offboarding)
        let offboarded = try await harness.result(for: offboarding.id).result
        #expect(offboarded.statistics.configsDeactivated == 4)
        await tenant.editByHand(configuration: edited)

        let restored = try await harness.restore(offboarding.id, body: ["reason": "Client came back", "requested_by": "jane@msp.example"])
        #expect(restored.success, "\(restored.errors)")
        #expect(restored.trigger == .restore && restored.restores == offboarding.id && restored.requestedBy == "jane@msp.example")
        #expect(restored.reason == "Client came back" && !restored.dryRun && restored.clientID == String(client))
        #expect(restored.statistics == .init(configsFound: 4, configsDeactivated: 0, configsSkipped: 1, errors: 0, configsConfirmed: 3, configsRestored: 3))
        let actions = Dictionary(uniqueKeysWithValues: restored.configs.map { ($0.configID, $0) })
        #expect(Set(actions.keys) == Set(configs[0..<4].map(String.init)), "only what the offboarding deactivated")
        for id in [configs[0], configs[2], configs[3]] {
            #expect(actions[String(id)]?.action == .restored && actions[String(id)]?.status == .active, "\(psa) \(id)")
            #expect(await tenant.isConfigurationActive(id) == true, "\(psa) \(id) active again")
        }
        #expect(actions[String(edited)]?.action == .skipped && actions[String(edited)]?.skipReason == .changedSinceOffboarding)
        let warning = try #require(restored.warnings.first { $0.code == .changedSinceOffboarding })
        #expect(warning.configIDs == [String(edited)])
        #expect(await tenant.isConfigurationActive(edited) == false, "never overwritten")
        #expect(await tenant.isConfigurationActive(alreadyInactive) == false, "inactive before the offboarding, inactive after the restore")
        // The exact previous status, not just some open one.
        #expect(await tenant.statusID(ofConfiguration: loaned) == loanedStatus)
        #expect(await tenant.statusID(ofConfiguration: plain) == plainStatus)
        if psa != .autotask { #expect(loanedStatus != plainStatus, "\(psa) has a second open status to tell apart") }
        // The restore line, once, beside the deactivation's.
        let lines = await tenant.noteLines(ofConfiguration: plain)
        #expect(lines.filter { $0.contains("restored (event ") && $0.contains("undoing event \(offboarding.id)") && $0.hasSuffix(": Client came back") }.count == 1, "\(lines)")
        #expect(lines.filter { $0.contains("deactivated (event \(offboarding.id))") }.count == 1, "\(lines)")

        // Twice: nothing is written the second time.
        let writes = await tenant.deactivationWrites(forClient: client)
        let again = try await harness.restore(offboarding.id)
        #expect(again.success)
        #expect(again.statistics.configsRestored == 0 && again.statistics.configsSkipped == 4)
        #expect(again.configs.filter { $0.skipReason == .alreadyRestored }.count == 3)
        #expect(again.configs.first { $0.configID == String(edited) }?.skipReason == .changedSinceOffboarding)
        #expect(await tenant.deactivationWrites(forClient: client) == writes, "a second restore writes nothing")
    }

    @Test(arguments: PSAKind.allCases)
    func aPartiallyFailedOffboardingIsRestoredOnlyWhereItChangedSomething(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        try await harness.waitForAssignment()
        let (client, configs) = await harness.makeClient(active: 3)
        await harness.tenant.refuseDeactivation(ofConfiguration: configs[1])
        let offboarding = harness.event(forClient: client)
        try await harness.send(offboarding)
        let offboarded = try await harness.result(for: offboarding.id).result
        #expect(!offboarded.success && offboarded.statistics.configsDeactivated == 2 && offboarded.statistics.errors == 1)
        #expect(await harness.tenant.isConfigurationActive(configs[1]) == true)

        let restored = try await harness.restore(offboarding.id)
        #expect(restored.success, "\(restored.errors)")
        #expect(restored.configs.map(\.configID).sorted() == [configs[0], configs[2]].map(String.init).sorted(), "the failed one is not part of it")
        #expect(restored.configs.allSatisfy { $0.action == .restored })
        for id in configs { #expect(await harness.tenant.isConfigurationActive(id) == true, "\(psa) \(id)") }
    }

    /// Every answer to one PATCH is lost although the PSA applied it: the read-back finds the
    /// configuration inactive, so the result reports it deactivated (nothing left for the retry
    /// topic), with the state the listing showed before it, and a restore puts that state back.
    @Test func anUnansweredWriteThatLandedIsReportedDeactivatedAndRestoredToItsStateBefore() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let (client, configs) = await harness.makeClient(active: 2)
        let unanswered = configs[0]
        await simulator.setSecondOpenStatus(ofConfiguration: unanswered)
        await simulator.inject(
            SimulatorFault(method: "PATCH", pathContains: "configurations/\(unanswered)", status: 503, retryAfterSeconds: 0, times: 5, afterApplying: true))
        let offboarding = harness.event(forClient: client)
        try await harness.send(offboarding)
        let result = try await harness.result(for: offboarding.id).result
        #expect(result.success && result.errors.isEmpty && result.statistics.configsDeactivated == 2 && result.statistics.configsConfirmed == 2)
        #expect(await harness.tenant.deactivationWrites(forClient: client) == 6, "the lost write applied on each of its five attempts, the other once")
        let landed = try #require(result.configs.first { $0.configID == String(unanswered) })
        #expect(landed.action == .deactivated)
        #expect(landed.psaPrevious?.status?.id == "5", "Loaned, as the listing showed it before the write")
        try await harness.retries.caughtUp()
        #expect(!harness.retries.records.contains { $0.keyString == String(client) }, "nothing handed to the retry topic")
        let restored = try await harness.restore(offboarding.id)
        #expect(restored.success && restored.configs.count == 2 && restored.configs.allSatisfy { $0.action == .restored })
        #expect(await simulator.statusID(ofConfiguration: unanswered) == 5)
    }

    /// A restore whose every answer is lost although ConnectWise applied it: the read-back finds
    /// the configuration back in its previous state and the result says restored, not failed.
    @Test func anUnansweredRestoreThatLandedIsReportedRestored() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let (client, configs) = await harness.makeClient(active: 2)
        let offboarding = harness.event(forClient: client)
        try await harness.send(offboarding)
        #expect(try await harness.result(for: offboarding.id).result.statistics.configsDeactivated == 2)
        await simulator.inject(
            SimulatorFault(method: "PATCH", pathContains: "configurations/\(configs[0])", status: 503, retryAfterSeconds: 0, times: 5, afterApplying: true))
        let restored = try await harness.restore(offboarding.id)
        #expect(restored.success && restored.errors.isEmpty, "\(restored.errors)")
        #expect(restored.configs.count == 2 && restored.configs.allSatisfy { $0.action == .restored }, "\(restored.configs.map(\.action))")
        #expect(restored.statistics.configsConfirmed == 2)
        for id in configs { #expect(await simulator.isConfigurationActive(id) == true) }
    }

    @Test func whatCannotBeRestoredIsRefusedWithAClearAnswer() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let url = { (id: String) in "\(harness.apiBaseURL)/v1/offboardings/\(id)/restore" }
        let unknown = try await APIClient.call(.POST, url("no-such-event"), body: APIClient.json([:]))
        #expect(unknown.status == 404 && unknown.errorCode == "NotFound")

        let (client, _) = await harness.makeClient(active: 2)
        let dry = harness.event(forClient: client, options: .init(dryRun: true))
        try await harness.send(dry)
        _ = try await harness.result(for: dry.id)
        let refused = try await APIClient.call(.POST, url(dry.id), body: APIClient.json([:]))
        #expect(refused.status == 409 && refused.errorCode == "NotRestorable")
        #expect(((refused.json["error"] as? [String: Any])?["message"] as? String)?.contains("dry run") == true)

        let pending = harness.event(forClient: client, options: .init(requireApproval: true))
        try await harness.send(pending)
        _ = try await harness.result(for: pending.id)
        let awaiting = try await APIClient.call(.POST, url(pending.id), body: APIClient.json([:]))
        #expect(awaiting.status == 409 && awaiting.errorCode == "NotRestorable")
        #expect(((awaiting.json["error"] as? [String: Any])?["message"] as? String)?.contains("awaiting approval") == true)

        let badBody = try await APIClient.call(.POST, url(dry.id), body: APIClient.json(["dry_run": "yes"]))
        #expect(badBody.status == 400 && badBody.errorCode == "InvalidRequest")
        let openAPI = try OpenAPIDocument()
        for response in [unknown, refused, awaiting, badBody] {
            #expect(openAPI.problems(path: "/v1/offboardings/{event_id}/restore", method: "POST", response: response) == [])
        }
        let noToken = try await APIClient.call(.POST, url(dry.id), token: nil, body: APIClient.json([:]))
        #expect(noToken.status == 401)
        // None of them put anything on the events topic.
        #expect(try await harness.settledEvents(forClient: client).allSatisfy { $0.trigger != .restore })
    }

    @Test func aDryRunRestoreListsWhatItWouldPutBackAndChangesNothing() async throws {
        let harness = try await PipelineHarness.shared(.halopsa)
        try await harness.waitForAssignment()
        let (client, configs) = await harness.makeClient(active: 2)
        let offboarding = harness.event(forClient: client)
        try await harness.send(offboarding)
        _ = try await harness.result(for: offboarding.id)
        let preview = try await harness.restore(offboarding.id, body: ["dry_run": true])
        #expect(preview.success && preview.dryRun && preview.statistics.configsRestored == 0)
        #expect(preview.configs.count == 2 && preview.configs.allSatisfy { $0.action == .wouldRestore })
        for id in configs { #expect(await harness.tenant.isConfigurationActive(id) == false) }
    }
}
