import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingNotify
import OffboardingSandbox
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// Notices from the running service to receivers on loopback: a pending approval reaches Teams,
/// Slack and a signed webhook with its console link; a channel that answers 429 and then 500 is
/// tried, then its notice dead-lettered, while offboardings go on.
@Suite(.timeLimit(.minutes(3)))
struct NoticeScenarioTests {
    static let console = "https://offboarder.msp.example/console"
    static let secret = "whsec_" + Data((0..<32).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }).base64EncodedString()

    static func channel(_ name: String, _ kind: NoticeChannel.Kind, _ server: SimulatorServer, notices: Set<NoticeKind> = Set(NoticeKind.allCases))
        throws -> NoticeChannel
    {
        NoticeChannel(
            name: name, kind: kind, url: URL(string: "\(server.baseURL)/\(name)")!, secret: kind == .webhook ? try StandardWebhook.Secret(secret) : nil,
            notices: notices, perSecond: 50)
    }

    /// A feed of a group with no offsets starts at the topics' ends once assigned: dead letters are
    /// sent until every channel has told one, so that what follows is read.
    static func warmUp(_ harness: PipelineHarness, _ receiver: NoticeReceiver, paths: [String]) async throws {
        let warmedUp: @Sendable () -> Bool = {
            paths.allSatisfy { path in receiver.deliveries(to: path).contains { String(decoding: $0.body, as: UTF8.self).contains("warm-up") } }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !warmedUp() {
            guard ContinuousClock.now < deadline else { throw ConditionTimeout(description: "timed out waiting for the notice feeds to tell a warm-up dead letter") }
            try await harness.sendRecord(
                topic: PipelineHarness.topics.deadLetter, key: "warm-up", value: nil, headers: [("dlq.error.code", "InvalidEvent"), ("dlq.reason", "warm-up")])
            _ = await receiver.waitForDelivery(timeout: .seconds(2)) { _ in warmedUp() }
        }
    }

    static func notices(_ receiver: NoticeReceiver, path: String, holding text: String) -> [NoticeReceiver.Delivery] {
        receiver.deliveries(to: path).filter { String(decoding: $0.body, as: UTF8.self).contains(text) }
    }

    @Test func aPendingApprovalReachesTeamsSlackAndTheWebhookWithItsConsoleLink() async throws {
        let receiver = NoticeReceiver()
        let server = try await SimulatorServer.start(router: receiver.router(), logger: .test())
        let channels = [try Self.channel("teams", .teams, server), try Self.channel("slack", .slack, server), try Self.channel("webhook", .webhook, server)]
        let harness = try await PipelineHarness.isolated(.connectwise) { configuration in
            configuration.approvalLifetime = .seconds(600)
            configuration.notify = .init(consoleURL: Self.console, channels: channels)
        }
        try await harness.waitForAssignment()
        try await Self.warmUp(harness, receiver, paths: ["/teams", "/slack", "/webhook"])

        let (client, _) = await harness.makeClient(active: 2, name: "Notice <b>Test</b> & Co")
        let event = harness.event(forClient: client, options: .init(requireApproval: true, reason: "Contract ended"))
        try await harness.send(event)
        let approvalID = try #require(try await harness.result(for: event.id).result.approval?.id)
        let link = "\(Self.console)/approvals/\(approvalID)"
        try await waitUntil(timeout: .seconds(60), "the approval's notice on all three channels") {
            ["/teams", "/slack", "/webhook"].allSatisfy { !Self.notices(receiver, path: $0, holding: approvalID).isEmpty }
        }

        let teams = try #require(Self.notices(receiver, path: "/teams", holding: approvalID).first)
        #expect(try JSONSchemaValidator(schemaFile: "teams-workflow-message.schema.json").problems(in: teams.body) == [])
        #expect(String(decoding: teams.body, as: UTF8.self).contains(#""url":"\#(link)""#))
        let slack = try #require(Self.notices(receiver, path: "/slack", holding: approvalID).first)
        #expect(try JSONSchemaValidator(schemaFile: "slack-webhook-message.schema.json").problems(in: slack.body) == [])
        #expect(String(decoding: slack.body, as: UTF8.self).contains("Notice &lt;b&gt;Test&lt;/b&gt; &amp; Co"))
        let webhook = try #require(Self.notices(receiver, path: "/webhook", holding: approvalID).first)
        let verified = try await StandardWebhookReference.verify(headers: webhook.headers, body: webhook.body, secret: Self.secret)
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains(#""type": "approval_pending""#) && verified.stdout.contains(#""link": "\#(link)""#))
        // Told once per channel, though the approval is on the topic and its result on another.
        for path in ["/teams", "/slack", "/webhook"] { #expect(Self.notices(receiver, path: path, holding: approvalID).count == 1) }

        // The link's path is the console's page of that approval (behind the sign-in, which it leads to).
        let page = try await APIClient.call(.GET, "\(harness.apiBaseURL)/console/approvals/\(approvalID)", token: nil)
        #expect(page.status == 200 && String(decoding: page.body, as: UTF8.self).contains(#"name="token""#), "redirected to the sign-in")
        try await harness.stop()
        await server.stop()
    }

    @Test func aChannelAnswering429Then500IsTriedThenDeadLetteredWhileOffboardingsGoOn() async throws {
        let receiver = NoticeReceiver()
        let server = try await SimulatorServer.start(router: receiver.router(), logger: .test())
        let failing = try Self.channel("failing", .slack, server, notices: [.offboardingFailed, .deadLettered])
        let harness = try await PipelineHarness.isolated(.connectwise) { configuration in
            configuration.notify = .init(consoleURL: Self.console, channels: [failing])
            configuration.notify.delivery.giveUpAfter = .seconds(4)
        }
        try await harness.waitForAssignment()
        try await Self.warmUp(harness, receiver, paths: ["/failing"])
        receiver.answer(
            "/failing", forBodiesHolding: "ClientNotFound",
            with: [.init(status: 429, retryAfter: "1", body: "rate_limited"), .init(status: 500, body: "internal_error")])

        // A client the PSA does not know: its offboarding fails, and that is told.
        let missing = harness.event(forClient: 990_001)
        try await harness.send(missing)
        #expect(try await harness.result(for: missing.id).result.success == false)
        try await waitUntil(timeout: .seconds(30), "the failing channel's first attempt") {
            !Self.notices(receiver, path: "/failing", holding: "ClientNotFound").isEmpty
        }
        // Meanwhile offboardings keep going: the notices have a consumer group of their own.
        var events: [CompanyStatusChangedEvent] = []
        for _ in 0..<5 {
            let (client, _) = await harness.makeClient(active: 2)
            let event = harness.event(forClient: client)
            try await harness.send(event)
            events.append(event)
        }
        for event in events { #expect(try await harness.result(for: event.id).result.statistics.configsDeactivated == 2) }

        let letters = try await harness.deadLetters.wait(timeout: .seconds(60), for: "the notice's dead letter") { records in
            records.contains { $0.headers.last(named: "dlq.error.code")?.stringValue == "NoticeNotDelivered" }
        }
        let letter = try #require(letters.first { $0.headers.last(named: "dlq.error.code")?.stringValue == "NoticeNotDelivered" })
        #expect(letter.headers.last(named: "notify.channel")?.stringValue == "failing")
        #expect(letter.headers.last(named: "notify.notice")?.stringValue == "offboarding_failed")
        #expect(letter.headers.last(named: "notify.last_answer")?.stringValue == "HTTP 500: internal_error")
        #expect(harness.signer.verifies(letter), "signed as everything the service writes")
        let attempts = Self.notices(receiver, path: "/failing", holding: "ClientNotFound")
        #expect(attempts.map(\.status).first == 429 && attempts.dropFirst().allSatisfy { $0.status == 500 } && attempts.count >= 2)
        if attempts.count >= 2 { #expect(attempts[1].receivedAt - attempts[0].receivedAt >= .milliseconds(950), "Retry-After: 1") }
        // Its own dead letter is not told again, and the count is on /metrics.
        let metrics = try await APIClient.call(.GET, "\(harness.apiBaseURL)/metrics", token: nil)
        #expect(String(decoding: metrics.body, as: UTF8.self).contains(#"psa_offboarder_notices_total{channel="failing",notice="offboarding_failed",outcome="dead_lettered"} 1"#))
        #expect(Self.notices(receiver, path: "/failing", holding: "NoticeNotDelivered").isEmpty)
        try await harness.stop()
        await server.stop()
    }
}
