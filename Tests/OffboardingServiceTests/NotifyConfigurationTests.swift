import Foundation
import OffboardingNotify
import OffboardingService
import OffboardingTestSupport
import Testing

/// `notify.*` as the contract writes it: channels with their kinds, names, notices and client
/// filters, secrets from the environment, and every mistake refused naming its key and never
/// quoting a URL or a secret.
struct NotifyConfigurationTests {
    static let secret = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()
    static let environment = ContractExample.environment.merging([
        "TEAMS_WORKFLOW_URL": "https://prod.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=TEAMSSECRET",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/SLACKSECRET", "OFFBOARDER_WHSEC": secret,
    ]) { $1 }

    /// The contract's `notify` example, verbatim in shape.
    static let contractNotify = """
        notify:
          console_url: "https://offboarder.msp.example/console"
          channels:
            - kind: teams
              url: "${TEAMS_WORKFLOW_URL}"
              notices: [all]
            - kind: slack
              url: "${SLACK_WEBHOOK_URL}"
              notices: [approval_pending, offboarding_failed]
            - kind: webhook
              url: "https://automation.msp.example/hooks/offboarder"
              secret: "${OFFBOARDER_WHSEC}"
              notices: [all]
        """

    static func parse(_ notify: String) throws -> OffboarderConfiguration {
        try OffboarderConfiguration.parse(yaml: ContractExample.signed + "\n" + notify, environment: environment)
    }

    @Test func theContractsExampleParses() throws {
        let notify = try Self.parse(Self.contractNotify).notify
        #expect(notify.consoleURL == "https://offboarder.msp.example/console")
        #expect(notify.channels.map(\.name) == ["teams", "slack", "webhook"])
        #expect(notify.channels.map(\.kind) == [.teams, .slack, .webhook])
        #expect(notify.channels[0].notices == Set(NoticeKind.allCases))
        #expect(notify.channels[1].notices == [.approvalPending, .offboardingFailed])
        #expect(notify.channels[1].perSecond == 1 && notify.channels[2].perSecond == 10)
        #expect(notify.channels[2].secret != nil)
        #expect(notify.delivery.giveUpAfter == NoticeDelivery.Configuration.defaultGiveUpAfter)
        #expect(try OffboarderConfiguration.parse(yaml: ContractExample.signed, environment: Self.environment).notify.channels.isEmpty, "none by default")
    }

    @Test func namesClientFiltersRatesAndTheBoundAreRead() throws {
        let notify = try Self.parse(
            """
            notify:
              give_up_after: 2m
              channels:
                - {kind: slack, name: billing-team, url: "${SLACK_WEBHOOK_URL}", clients: ["12345", "Example Client"], per_second: 0.5}
                - {kind: slack, name: ops, url: "http://127.0.0.1:9/hook"}
            """
        ).notify
        #expect(notify.channels.map(\.name) == ["billing-team", "ops"])
        #expect(notify.channels[0].clients == ["12345", "Example Client"] && notify.channels[0].perSecond == 0.5)
        #expect(notify.delivery.giveUpAfter == .seconds(120))
        #expect(notify.consoleURL == nil)
    }

    @Test(arguments: [
        ("- {kind: email, url: \"https://x.example\"}", "notify.channels[0].kind: must be teams, slack or webhook"),
        ("- {kind: slack, url: \"http://hooks.slack.com/services/T0/B0/SLACKSECRET\"}", "notify.channels[0].url: must be an https URL"),
        ("- {kind: slack, url: \"https://hooks.slack.com/x\", secret: \"${OFFBOARDER_WHSEC}\"}", "notify.channels[0].secret: goes only with kind webhook"),
        ("- {kind: webhook, url: \"https://a.example/h\"}", "notify.channels[0].secret: is required for kind webhook"),
        ("- {kind: webhook, url: \"https://a.example/h\", secret: \"whsec_AAAA\"}", "notify.channels[0].secret: holds a key of 3 bytes"),
        ("- {kind: slack, url: \"https://a.example/h\", notices: [approval_pending, approvals]}", "notify.channels[0].notices[1]: \"approvals\" is not a notice"),
        ("- {kind: slack, url: \"https://a.example/1\"}\n    - {kind: slack, url: \"https://a.example/2\"}", "notify.channels[1].name: \"slack\" names two channels"),
        ("- {kind: slack, name: \"a b\", url: \"https://a.example/h\"}", "notify.channels[0].name: must be 1 to 64 letters"),
        ("- {kind: slack, url: \"https://a.example/h\", per_second: 1000}", "notify.channels[0].per_second: must be a number from 0.01 to 100"),
        ("- {kind: slack, url: \"https://a.example/h\", clients: []}", "notify.channels[0].clients: must name at least one client"),
        ("- {kind: slack, url: \"https://a.example/h\", colour: red}", "notify.channels[0].colour: is not a known key"),
    ])
    func aMistakeIsRefusedNamingItsKeyAndNeverQuotingAURLOrSecret(channel: String, expected: String) {
        #expect {
            _ = try Self.parse("notify:\n  channels:\n    \(channel)")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix(expected) && !text.contains("SLACKSECRET") && !text.contains("AAAA") && !text.contains(Self.secret)
        }
    }

    @Test func theConsoleURLMustBeABaseOverHTTPS() {
        for bad in ["http://offboarder.msp.example/console", "https://offboarder.msp.example/console?next=x", "javascript:alert(1)"] {
            #expect {
                _ = try Self.parse("notify: {console_url: \"\(bad)\"}")
            } throws: { error in "\(error)".hasPrefix("notify.console_url: must be an https URL") }
        }
    }
}
