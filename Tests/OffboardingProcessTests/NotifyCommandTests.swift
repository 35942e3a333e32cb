import Foundation
import OffboardingSandbox
import OffboardingTestSupport
import PSASimulators
import Testing

/// `psa-offboarder notify test` as an operator runs it: one sample notice to every channel, what
/// each answered, exit 1 when one did not take it, and no URL or secret in what it prints.
@Suite(.timeLimit(.minutes(2)))
struct NotifyCommandTests {
    static let secret = "whsec_" + Data(repeating: 42, count: 32).base64EncodedString()

    @Test func notifyTestSendsASampleToEveryChannelAndReportsEachAnswer() async throws {
        let receiver = NoticeReceiver()
        receiver.answer("/services/T0/B0/GONESECRET", with: [.init(status: 404, body: "no_service")])
        let server = try await SimulatorServer.start(router: receiver.router(), logger: .test())
        let environment = ContractExample.environment.merging([
            "SLACK_URL": "\(server.baseURL)/services/T0/B0/GONESECRET", "HOOK_URL": "\(server.baseURL)/hook?token=HOOKSECRET", "WHSEC": Self.secret,
        ]) { $1 }
        let yaml = ContractExample.signed + """

            notify:
              console_url: "https://offboarder.msp.example/console"
              channels:
                - {kind: slack, name: gone, url: "${SLACK_URL}"}
                - {kind: webhook, name: automation, url: "${HOOK_URL}", secret: "${WHSEC}"}
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let process = try OffboarderProcess(arguments: ["notify", "test", "--config", path, "--output", "json"], environment: environment)
        let status = await process.waitForExit()
        #expect(status == 1, "one channel refused: \(process.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(process.stdout.utf8)) as? [String: Any])
        let channels = try #require(report["channels"] as? [[String: Any]])
        #expect(channels.map { $0["name"] as? String } == ["gone", "automation"])
        #expect(channels.map { $0["delivered"] as? Bool } == [false, true])
        #expect(channels.first?["answer"] as? String == "HTTP 404: no_service")
        for secret in ["GONESECRET", "HOOKSECRET", Self.secret, server.baseURL] {
            #expect(!process.stdout.contains(secret) && !process.stderr.contains(secret), "\(secret) printed")
        }
        // The webhook's sample is signed as the reference library expects, and marked as a test.
        let sample = try #require(receiver.deliveries(to: "/hook").first)
        let verified = try await StandardWebhookReference.verify(headers: sample.headers, body: sample.body, secret: Self.secret)
        #expect(verified.status == 0 && verified.stdout.contains("Test notice from psa-offboarder"), "\(verified.stderr)")
        #expect(receiver.deliveries(to: "/services/T0/B0/GONESECRET").count == 1, "a 404 is not repeated")

        // Without channels there is nothing to test: a configuration error.
        try ContractExample.signed.write(toFile: path, atomically: true, encoding: .utf8)
        let bare = try OffboarderProcess(arguments: ["notify", "test", "--config", path], environment: ContractExample.environment)
        #expect(await bare.waitForExit() == 2)
        #expect(bare.stderr == "psa-offboarder: notify.channels: lists no channel: there is nothing to test\n")
        await server.stop()
    }
}
