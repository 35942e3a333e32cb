import Foundation
import OffboardingCore
import OffboardingTestSupport
import Testing

@testable import OffboardingNotify

/// Each channel's wire format: the Teams Workflows envelope with an Adaptive Card and the Slack
/// Block Kit message checked against schemas of their required fields and limits, the generic
/// webhook's signature checked by the Standard Webhooks reference library, and text from the PSA
/// shown as written, never as markup or a link of its own.
struct NoticeFormatTests {
    static let secret = "whsec_" + Data((0..<32).map { UInt8($0 * 7 % 256) }).base64EncodedString()
    static let consoleLink = "https://offboarder.msp.example/console/approvals/apr-1"

    /// A notice whose every PSA text tries markup: a link, emphasis, a mention, a card function,
    /// a heading and a list.
    static func hostile(configurations: Int = 3) -> Notice {
        Notice(
            id: "msg_0123", kind: .approvalPending, psa: .connectwise, clientID: "12345",
            clientName: "Evil <https://evil.example|click> & [co](https://evil.example) **bold** {{DATE(2026-01-01)}}",
            title: "Approval needed: offboarding - # <!channel> [x](https://evil.example)", summary: "1. ordered & <b>tags</b> _it_ `code`",
            facts: [Notice.Fact("Reason", "> quoted [r](javascript:alert(1))")],
            configurations: (0..<configurations).map { Notice.Configuration(id: "\($0)", name: "FW-\($0) *star* <@U123>") },
            warnings: [Notice.Warning(code: "BillingStillActive", message: "contract <https://evil.example> bills")],
            link: Notice.Link(title: "Open the approval", url: consoleLink), occurredAt: "2026-12-07T10:00:00Z", eventID: "evt-1",
            approvalID: "apr-1")
    }

    static func channel(_ kind: NoticeChannel.Kind) throws -> NoticeChannel {
        NoticeChannel(
            name: kind.rawValue, kind: kind, url: URL(string: "https://hooks.example/\(kind.rawValue)")!,
            secret: kind == .webhook ? try StandardWebhook.Secret(secret) : nil)
    }

    /// Every string in a JSON document, with its path.
    static func strings(_ value: JSONValue, at path: String = "$") -> [(path: String, text: String)] {
        switch value {
        case .string(let text): [(path, text)]
        case .array(let items): items.enumerated().flatMap { strings($0.element, at: "\(path)[\($0.offset)]") }
        case .object(let fields): fields.flatMap { strings($0.value, at: "\(path).\($0.key)") }
        default: []
        }
    }

    @Test func theTeamsMessageIsAnAdaptiveCardInTheWorkflowsEnvelopeWithTheConsoleLinkAsItsOnlyLink() throws {
        let body = try Self.channel(.teams).request(for: Self.hostile()).body
        let validator = try JSONSchemaValidator(schemaFile: "teams-workflow-message.schema.json")
        #expect(validator.problems(in: body) == [])
        let document = try JSONValue.parse(body, limits: .result)
        let strings = Self.strings(document)
        // Only the action's URL is a URL anything would open; every PSA text is escaped.
        #expect(strings.filter { $0.text.contains("https://") && !$0.text.contains("evil.example") }.map(\.text).contains(Self.consoleLink))
        for (path, text) in strings where path.contains(".text") || path.contains(".value") || path.contains(".title") {
            #expect(!text.contains("](") || text.contains("\\]\\("), "a Markdown link survived at \(path): \(text)")
            #expect(!text.contains("{{"), "a card function survived at \(path): \(text)")
            #expect(!text.contains("**bold**") && !text.contains("*star*"), "emphasis survived at \(path): \(text)")
        }
        #expect(strings.contains { $0.text.contains("Evil \\<https://evil.example\\|click\\> & \\[co\\]\\(https://evil.example\\) \\*\\*bold\\*\\* \\{\\{DATE\\(2026-01-01\\)\\}\\}") })
    }

    @Test func theSlackMessageIsBlockKitWithAFallbackAndEveryPSATextEscaped() throws {
        let body = try Self.channel(.slack).request(for: Self.hostile()).body
        let validator = try JSONSchemaValidator(schemaFile: "slack-webhook-message.schema.json")
        #expect(validator.problems(in: body) == [])
        let strings = Self.strings(try JSONValue.parse(body, limits: .result))
        for (path, text) in strings where path != "$.blocks[5].elements[0].url" {
            // Slack's only markup triggers are <...>; `&` starts an entity.
            #expect(!text.contains("<http") && !text.contains("<@") && !text.contains("<!"), "markup survived at \(path): \(text)")
        }
        #expect(strings.contains { $0.text.contains("Evil &lt;https://evil.example|click&gt; &amp; [co]") })
        #expect(strings.first { $0.path == "$.text" }?.text.hasPrefix("Approval needed") == true, "the fallback text")
        #expect(strings.first { $0.path.hasSuffix(".url") }?.text == Self.consoleLink)
    }

    @Test func longListsAndLongTextsStayWithinBlockKitsLimits() throws {
        var notice = Self.hostile(configurations: 400)
        notice.title = String(repeating: "T", count: 500)
        notice.summary = String(repeating: "&", count: 5000)
        notice.facts = (0..<15).map { Notice.Fact("F\($0)", String(repeating: "v", count: 3000)) }
        let slack = try Self.channel(.slack).request(for: notice).body
        #expect(try JSONSchemaValidator(schemaFile: "slack-webhook-message.schema.json").problems(in: slack) == [])
        #expect(String(decoding: slack, as: UTF8.self).contains("and 375 more"))
        let teams = try Self.channel(.teams).request(for: notice).body
        #expect(try JSONSchemaValidator(schemaFile: "teams-workflow-message.schema.json").problems(in: teams) == [])
        #expect(String(decoding: teams, as: UTF8.self).contains("and 375 more"))
    }

    @Test func theWebhookIsSignedAsTheStandardWebhooksReferenceLibraryVerifiesIt() async throws {
        let notice = Self.hostile()
        let (headers, body) = try Self.channel(.webhook).request(for: notice)
        let named = Dictionary(headers, uniquingKeysWith: { $1 })
        #expect(named["webhook-id"] == notice.id)
        let verified = try await StandardWebhookReference.verify(headers: named, body: body, secret: Self.secret)
        #expect(verified.status == 0, "refused: \(verified.stderr)")
        let payload = try JSONValue.parse(Array(verified.stdout.utf8), limits: .result)
        guard case .object(let fields) = payload, case .object(let data)? = fields["data"] else {
            Issue.record("not a payload: \(verified.stdout)")
            return
        }
        #expect(fields["type"] == .string("approval_pending") && fields["timestamp"] == .string("2026-12-07T10:00:00Z"))
        #expect(data["client_id"] == .string("12345") && data["approval_id"] == .string("apr-1") && data["link"] == .string(Self.consoleLink))
        #expect(data["client_name"] == .string(notice.clientName!), "JSON carries the text as written")

        // A body changed on the way, or another secret, is refused by the same library.
        var tampered = body
        tampered[tampered.count / 2] ^= 0x01
        #expect(try await StandardWebhookReference.verify(headers: named, body: tampered, secret: Self.secret).status == 1)
        let other = "whsec_" + Data(repeating: 9, count: 32).base64EncodedString()
        #expect(try await StandardWebhookReference.verify(headers: named, body: body, secret: other).status == 1)
    }

    @Test func aRetryKeepsTheIdAndSignsItsOwnTimestamp() throws {
        let channel = try Self.channel(.webhook)
        let first = Dictionary(channel.request(for: Self.hostile(), at: Date(timeIntervalSince1970: 1_800_000_000)).headers, uniquingKeysWith: { $1 })
        let later = Dictionary(channel.request(for: Self.hostile(), at: Date(timeIntervalSince1970: 1_800_000_060)).headers, uniquingKeysWith: { $1 })
        #expect(first["webhook-id"] == later["webhook-id"])
        #expect(first["webhook-timestamp"] == "1800000000" && later["webhook-timestamp"] == "1800000060")
        #expect(first["webhook-signature"] != later["webhook-signature"])
    }

    @Test(arguments: [
        ("abc", "must start with whsec_"), ("whsec_!!!", "is not base64"), ("whsec_" + Data(repeating: 1, count: 8).base64EncodedString(), "8 bytes"),
    ])
    func aSecretThatIsNotAStandardWebhooksSecretIsRefusedSayingWhy(text: String, why: String) {
        #expect(throws: StandardWebhook.SecretError.self) { try StandardWebhook.Secret(text) }
        do {
            _ = try StandardWebhook.Secret(text)
        } catch {
            #expect(error.description.contains(why))
            #expect(!error.description.contains(text.dropFirst(6)) || text.count < 8, "the secret is not repeated")
        }
    }

    @Test func aChannelsDescriptionNeverShowsItsURLOrSecret() throws {
        let channel = try Self.channel(.webhook)
        for text in ["\(channel)", String(reflecting: channel.secret!)] {
            #expect(!text.contains("hooks.example") && !text.contains(Self.secret.dropFirst(6)))
        }
    }
}
