import AsyncHTTPClient
import Foundation
import Logging
import OffboardingCore
import OffboardingNotify

extension ManualCommands {
    /// What `notify test` found: each channel's answer to one sample notice.
    public struct NotifyTestReport: Sendable {
        public struct Channel: Sendable {
            public var name: String
            public var kind: String
            public var delivered: Bool
            /// The channel's last answer (`HTTP 200: ok`, `HTTP 404: no_service`, `no answer: ...`).
            public var answer: String
            public var attempts: Int
        }

        public var channels: [Channel]
        public var allDelivered: Bool { channels.allSatisfy(\.delivered) }
    }

    /// The longest `notify test` tries one channel, whatever `notify.give_up_after` says: an
    /// operator is waiting at the terminal.
    static let notifyTestPatience: Duration = .seconds(20)

    /// `notify test`: one sample `approval_pending` notice (a made-up client, marked as a test) to
    /// every configured channel, all at once, through the service's own formats and delivery.
    public static func notifyTest(configuration: OffboarderConfiguration, logger: Logger) async throws(ConfigurationError) -> NotifyTestReport {
        let notify = configuration.notify
        guard !notify.channels.isEmpty else {
            throw ConfigurationError(key: "notify.channels", "lists no channel: there is nothing to test")
        }
        let notice = sampleNotice(console: notify.consoleLinks)
        var settings = notify.delivery
        settings.giveUpAfter = min(settings.giveUpAfter, notifyTestPatience)
        let delivery = settings
        let http = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 1)
        let channels = await withTaskGroup(of: (Int, NotifyTestReport.Channel).self) { group in
            for (index, channel) in notify.channels.enumerated() {
                group.addTask {
                    let outcome = await NoticeDelivery(channel: channel, configuration: delivery, http: http, logger: logger).deliver(notice)
                    var entry = NotifyTestReport.Channel(name: channel.name, kind: channel.kind.rawValue, delivered: false, answer: "", attempts: 1)
                    switch outcome {
                    case .delivered(let answer):
                        entry.delivered = true
                        entry.answer = answer.description
                    case .notDelivered(let answer, let attempts):
                        entry.answer = answer.description
                        entry.attempts = attempts
                    case .cancelled:
                        entry.answer = "cancelled"
                    }
                    return (index, entry)
                }
            }
            var entries: [(Int, NotifyTestReport.Channel)] = []
            for await entry in group { entries.append(entry) }
            return entries.sorted { $0.0 < $1.0 }.map(\.1)
        }
        try? await http.shutdown()
        return NotifyTestReport(channels: channels)
    }

    static func sampleNotice(console: ConsoleLinks?) -> Notice {
        let approvalID = "test-\(UUID().uuidString.lowercased())"
        return Notice(
            id: "msg_test_\(UUID().uuidString.lowercased())", kind: .approvalPending, psa: nil, clientID: "0", clientName: "psa-offboarder test",
            title: "Test notice from psa-offboarder", summary: "notify test sent this to check the channel; no client is being offboarded.",
            facts: [Notice.Fact("Sent by", "psa-offboarder notify test")],
            configurations: [Notice.Configuration(id: "1", name: "Sample firewall"), Notice.Configuration(id: "2", name: "Sample server")],
            link: console.map { Notice.Link(title: "Open the console", url: $0.base) }, occurredAt: Timestamp.string(Date()), approvalID: approvalID)
    }
}
