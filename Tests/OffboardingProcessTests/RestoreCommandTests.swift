import Foundation
import OffboardingCore
import OffboardingTestSupport
import PSASimulators
import Testing

/// `psa-offboarder restore` as users run it, beside the HTTP route: the same offboarding shape
/// restored either way gives the same result, and what cannot be restored gets one line and exit 1.
@Suite(.timeLimit(.minutes(3)))
struct RestoreCommandTests {
    func restore(_ arguments: [String], harness: PipelineHarness) async throws -> (status: Int32, stdout: String, stderr: String) {
        let path = try ConfigurationYAML(
            bootstrapServers: harness.kafka.bootstrapServers, groupID: "cli", psa: ConfigurationYAML.connectWiseFromEnvironment(serverURL: harness.server.baseURL)
        ).write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = try OffboarderProcess(
            arguments: ["restore", "--config", path] + arguments,
            environment: ConfigurationYAML.connectWiseEnvironment)
        let status = await process.waitForExit()
        return (status, process.stdout, process.stderr)
    }

    /// What two restores of the same shape share once ids, names and times are set aside.
    static func shape(_ result: OffboardingResult) -> String {
        let configs = result.configs.map { "\($0.action.rawValue)/\($0.status.rawValue)/\($0.previousStatus.rawValue)/\($0.skipReason?.rawValue ?? "-")/\($0.psaStatus ?? "-")" }
        return "\(result.success) \(result.trigger) \(result.psa) \(result.dryRun) \(result.reason ?? "-") \(result.statistics) \(configs) "
            + "\(result.warnings.map(\.code)) \(result.errors.map(\.code))"
    }

    @Test func theCommandAndTheHTTPRouteGiveTheSameResult() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        var offboardings: [(client: Int, configs: [Int], eventID: String)] = []
        for _ in 0..<2 {
            let (client, configs) = await harness.makeClient(active: 3, inactive: 1)
            let event = harness.event(forClient: client)
            try await harness.send(event)
            #expect(try await harness.result(for: event.id).result.statistics.configsDeactivated == 3)
            await harness.tenant.editByHand(configuration: configs[2])
            offboardings.append((client, configs, event.id))
        }
        let cli = try await restore(["--event-id", offboardings[0].eventID, "--reason", "Client came back"], harness: harness)
        #expect(cli.status == 0, "stderr: \(cli.stderr)")
        let byCommand = try ValidatedResult.decode(Array(cli.stdout.utf8))
        let byRoute = try await harness.restore(offboardings[1].eventID, body: ["reason": "Client came back"])
        #expect(byCommand.restores == offboardings[0].eventID && byRoute.restores == offboardings[1].eventID)
        #expect(byCommand.statistics.configsRestored == 2)
        #expect(Self.shape(byCommand) == Self.shape(byRoute))
        // The command's result went to the results topic too, where billing and alerting read it.
        _ = try await harness.result(for: byCommand.eventID)
        for (index, offboarding) in offboardings.enumerated() {
            for id in [offboarding.configs[0], offboarding.configs[1]] { #expect(await harness.tenant.isConfigurationActive(id) == true, "\(index) \(id)") }
            #expect(await harness.tenant.isConfigurationActive(offboarding.configs[2]) == false)
        }
    }

    @Test func whatCannotBeRestoredGetsOneLineAndExitOne() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let unknown = try await restore(["--event-id", "no-such-offboarding"], harness: harness)
        #expect(unknown.status == 1 && unknown.stdout.isEmpty)
        #expect(unknown.stderr.split(separator: "\n").count == 1 && unknown.stderr.contains("no result of an offboarding with event id no-such-offboarding"), "\(unknown.stderr)")

        let (client, configs) = await harness.makeClient(active: 2)
        let dry = harness.event(forClient: client, options: .init(dryRun: true))
        try await harness.send(dry)
        _ = try await harness.result(for: dry.id)
        let refused = try await restore(["--event-id", dry.id], harness: harness)
        #expect(refused.status == 1 && refused.stderr.contains("was a dry run"), "\(refused.stderr)")
        for id in configs { #expect(await harness.tenant.isConfigurationActive(id) == true) }

        let usage = try await restore([], harness: harness)
        #expect(usage.status == 2 && usage.stderr.contains("--event-id"))
    }
}
