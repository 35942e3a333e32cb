import AsyncHTTPClient
import Foundation
import OffboardingSandbox
import OffboardingTestSupport
import PSASimulators
import Testing

@testable import OffboardingNotify

/// Delivery against a receiver on loopback: what is repeated (429 after its `Retry-After`, 5xx, no
/// answer) and what is not (any other refusal, a redirect), the bound on how long one notice is
/// tried, the channel's rate, and no URL in what is reported.
@Suite(.timeLimit(.minutes(1)))
struct NoticeDeliveryTests {
    final class Fixture: Sendable {
        let receiver = NoticeReceiver()
        let server: SimulatorServer
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

        init() async throws {
            server = try await SimulatorServer.start(router: receiver.router(), logger: .test())
        }

        func delivery(
            path: String = "/hook", perSecond: Double? = nil, giveUpAfter: Duration = .seconds(20), initialBackoff: Duration = .milliseconds(50)
        ) -> NoticeDelivery {
            var configuration = NoticeDelivery.Configuration()
            configuration.giveUpAfter = giveUpAfter
            configuration.initialBackoff = initialBackoff
            configuration.maxBackoff = .milliseconds(200)
            let channel = NoticeChannel(name: "hook", kind: .slack, url: URL(string: "\(server.baseURL)\(path)")!, perSecond: perSecond ?? 100)
            return NoticeDelivery(channel: channel, configuration: configuration, http: http, logger: .test())
        }

        func stop() async {
            try? await http.shutdown()
            await server.stop()
        }
    }

    static let notice = NoticeFormatTests.hostile()

    @Test func a429IsRepeatedAfterItsRetryAfterAndThenDelivered() async throws {
        let fixture = try await Fixture()
        fixture.receiver.answer("/hook", with: [.init(status: 429, retryAfter: "1", body: "rate_limited"), .init(status: 200, body: "ok")])
        let outcome = await fixture.delivery().deliver(Self.notice)
        let deliveries = fixture.receiver.deliveries(to: "/hook")
        #expect(deliveries.map(\.status) == [429, 200])
        if deliveries.count == 2 {
            #expect(deliveries[1].receivedAt - deliveries[0].receivedAt >= .milliseconds(950), "Retry-After: 1 honoured")
        }
        guard case .delivered(let answer) = outcome else {
            Issue.record("not delivered: \(outcome)")
            return await fixture.stop()
        }
        #expect(answer.status == 200)
        await fixture.stop()
    }

    @Test func serverErrorsAreRepeatedUntilTheBoundThenReportedWithTheLastAnswer() async throws {
        let fixture = try await Fixture()
        fixture.receiver.answer("/hook", with: [.init(status: 429, retryAfter: "0", body: "slow down"), .init(status: 503, body: "down for maintenance")])
        // A bound of a few seconds: on a loaded machine one attempt can take most of a second.
        let outcome = await fixture.delivery(giveUpAfter: .seconds(6)).deliver(Self.notice)
        guard case .notDelivered(let answer, let attempts) = outcome else {
            Issue.record("delivered: \(outcome)")
            return await fixture.stop()
        }
        #expect(answer.description == "HTTP 503: down for maintenance")
        #expect(attempts == fixture.receiver.deliveries(to: "/hook").count && attempts >= 2, "\(attempts) attempts")
        #expect(fixture.receiver.deliveries(to: "/hook").map(\.status).first == 429)
        await fixture.stop()
    }

    @Test(arguments: [(400, "invalid_payload"), (403, "action_prohibited"), (404, "no_service"), (410, "channel_is_archived"), (302, "")])
    func aRefusalOrARedirectIsNotRepeated(status: Int, body: String) async throws {
        let fixture = try await Fixture()
        fixture.receiver.answer("/hook", with: [.init(status: status, body: body)])
        let outcome = await fixture.delivery().deliver(Self.notice)
        #expect(outcome == .notDelivered(ChannelAnswer(status: status, body: Array(body.utf8), retryAfter: nil), attempts: 1))
        #expect(fixture.receiver.deliveries.count == 1)
        await fixture.stop()
    }

    /// Measured where the rate is kept, at the sender: four notices at five a second take their
    /// slots 200 ms apart, so the fourth cannot start before 600 ms (arrival times at the receiver
    /// jitter with the machine's load).
    @Test func noticesToOneChannelKeepItsRate() async throws {
        let fixture = try await Fixture()
        let delivery = fixture.delivery(perSecond: 5)
        let started = ContinuousClock.now
        for _ in 0..<4 { _ = await delivery.deliver(Self.notice) }
        let took = ContinuousClock.now - started
        #expect(fixture.receiver.deliveries(to: "/hook").count == 4)
        #expect(took >= .milliseconds(600), "4 notices at 5 a second in \(took)")
        await fixture.stop()
    }

    @Test func noAnswerIsWorthRepeatingAndReportedWithoutTheURL() async throws {
        let fixture = try await Fixture()
        // A port nothing listens on, and a path as secret as a Slack webhook's.
        let closed = try await SimulatorServer.start(router: NoticeReceiver().router(), logger: .test())
        let port = closed.port
        await closed.stop()
        var configuration = NoticeDelivery.Configuration()
        // AsyncHTTPClient keeps reconnecting to a refused port until the request's deadline.
        configuration.requestTimeout = .milliseconds(300)
        configuration.giveUpAfter = .seconds(2)
        configuration.initialBackoff = .milliseconds(50)
        let secretPath = "/services/T000/B000/XXXXSECRETXXXX"
        let channel = NoticeChannel(name: "dead", kind: .slack, url: URL(string: "http://127.0.0.1:\(port)\(secretPath)")!, perSecond: 100)
        let outcome = await NoticeDelivery(channel: channel, configuration: configuration, http: fixture.http, logger: .test()).deliver(Self.notice)
        guard case .notDelivered(let answer, let attempts) = outcome else {
            Issue.record("delivered: \(outcome)")
            return await fixture.stop()
        }
        // Repeated while the bound allows (how often depends on the machine's load).
        #expect(answer.status == nil && answer.verdict == .retry && attempts >= 1)
        #expect(!answer.description.contains("SECRET"), "\(answer)")
        await fixture.stop()
    }

    @Test func aCancelledDeliveryStopsWaitingAndSaysSo() async throws {
        let fixture = try await Fixture()
        fixture.receiver.answer("/hook", with: [.init(status: 429, retryAfter: "30")])
        let delivery = fixture.delivery(giveUpAfter: .seconds(120))
        let task = Task { await delivery.deliver(Self.notice) }
        try await waitUntil(timeout: .seconds(10), "the first attempt") { !fixture.receiver.deliveries.isEmpty }
        task.cancel()
        #expect(await task.value == .cancelled)
        await fixture.stop()
    }
}
