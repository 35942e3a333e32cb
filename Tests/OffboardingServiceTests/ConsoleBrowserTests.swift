import Foundation
import OffboardingCore
import OffboardingTestSupport
import Testing

/// The review console in a real browser: `Tests/Browser/console_test.py` drives Debian's Chromium
/// through Playwright against the running service (a notice's link through the sign-in, the
/// approvals counted and filtered, one configuration unticked and kept, approve, the approval
/// decided at once, the result, the CSV, a form without its CSRF token refused); this test sets up
/// the approvals and checks afterwards what the clicks did in Kafka and in the PSA.
@Suite(.timeLimit(.minutes(4)))
struct ConsoleBrowserTests {
    static let chromium = "/usr/bin/chromium"

    @Test func aReviewerApprovesAnOffboardingInChromium() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.chromium), "Debian's chromium is installed by scripts/install-deps")
        // Approvals of its own that outlive a slow browser (the shared harness's expire in 20 s).
        let harness = try await PipelineHarness.isolated(.connectwise) { $0.approvalLifetime = .seconds(600) }
        try await harness.waitForAssignment()
        let name = #"<script>alert("owned")</script> Holdings"#
        let (client, configurations) = await harness.makeClient(active: 3, name: name)
        let (forgedClient, _) = await harness.makeClient(active: 1, name: "Forged Form Ltd")
        let approved = harness.event(forClient: client, options: .init(requireApproval: true, reason: "Contract ended"))
        let forged = harness.event(forClient: forgedClient, options: .init(requireApproval: true))
        try await harness.send(approved)
        try await harness.send(forged)
        let approvalID = try #require(try await harness.result(for: approved.id).result.approval?.id)
        let forgedID = try #require(try await harness.result(for: forged.id).result.approval?.id)
        // The console lists what this replica has read from the approvals topic.
        try await waitUntil(timeout: .seconds(30), "both approvals read back") {
            harness.runtime.pipeline.approval(approvalID)?.state == .pending && harness.runtime.pipeline.approval(forgedID)?.state == .pending
        }

        // A slow PSA from here on: the approved run takes its listing, writes and read-back at 2 s
        // each, so the page after the decision shows the approval decided while it is still
        // pending on the topic. At 400 ms a loaded machine (the suite beside a CPU-bound process)
        // once loaded that page after the run had ended.
        await harness.tenant.setLatency(.seconds(2))
        let screenshot = ProcessInfo.processInfo.environment["PSA_OFFBOARDER_CONSOLE_SCREENSHOT"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("console-\(UUID().uuidString).png").path
        let browser = try OffboarderProcess(
            arguments: [
                "python3", Repository.file("Tests/Browser/console_test.py").path, "--base-url", harness.apiBaseURL, "--token", PipelineHarness.apiToken,
                "--client-name", name, "--approve", approvalID, "--forge", forgedID, "--config-ids", configurations.map(String.init).joined(separator: ","),
                "--keep", String(configurations[2]), "--forge-client", "Forged Form",
                "--screenshot", screenshot, "--chromium", Self.chromium,
            ],
            executable: "/usr/bin/env")
        let status = await browser.waitForExit(timeout: .seconds(180))
        #expect(status == 0, "browser steps:\n\(browser.stdout)\n\(browser.stderr)")

        // What the clicks did: the approval carried out with the reviewer's name and comment, the
        // PSA's configurations inactive; the forged form changed nothing.
        let results = try await harness.results(for: approved.id, count: 2)
        let outcome = try #require(results.last)
        #expect(outcome.approval?.state == .approved && outcome.approval?.approver == "Jane Reviewer")
        #expect(outcome.approval?.comment == "Checked with billing <b>ok</b>")
        #expect(outcome.statistics.configsDeactivated == 2)
        #expect(outcome.configs.first { $0.configID == String(configurations[2]) }?.skipReason == .keptByReviewer)
        for id in configurations.prefix(2) { #expect(await harness.tenant.isConfigurationActive(id) == false) }
        #expect(await harness.tenant.isConfigurationActive(configurations[2]) == true, "the configuration the reviewer kept")
        #expect(harness.runtime.pipeline.approval(forgedID)?.state == .pending)
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG screenshot of the console")
        try await harness.stop()
    }
}
