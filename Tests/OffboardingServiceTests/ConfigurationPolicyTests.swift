import Foundation
import OffboardingService
import PSAConnectWise
import PSAHalo
import PSAHTTP
import Testing

/// Settings that are out of range, unsafe, or that the configured PSA cannot honour are refused
/// at start-up with one line naming the key; the policy keys reach the service.
@Suite struct ConfigurationPolicyTests {
    static let example = ConfigurationTests.contractExample
    static let environment = ConfigurationTests.environment

    static func with(_ extra: String, replacing: (String, String)? = nil) -> String {
        var yaml = example
        if let (old, new) = replacing { yaml = yaml.replacingOccurrences(of: old, with: new) }
        return yaml + "\n" + extra
    }

    @Test(arguments: [
        (with("retry:\n  budget: 1e10s"), "retry.budget: must be from 1s to 1d"),
        (with("retry:\n  max_retry_after: 1e300s"), "retry.max_retry_after: must be from 0s to 1d"),
        (with("retry:\n  initial_backoff: infs"), "retry.initial_backoff: must be a duration"),
        (with("retry:\n  topic_max_delay: 1e10h"), "retry.topic_max_delay: must be from 1s to 7d"),
        (with("retry:\n  outage_backoff: -1s"), "retry.outage_backoff: must be from 1ms to 1h"),
        (with("rate_limit:\n  requests: 10\n  per: 0s"), "rate_limit.per: must be from 1ms to 1d"),
        (with("rate_limit:\n  requests: 99999999999999999999\n  per: 1s"), "rate_limit.requests: must be a whole number"),
        (with("approvals:\n  expire_after: 1e10d"), "approvals.expire_after: must be from 1s to 366d"),
        (with("approvals:\n  expire_after: 0s"), "approvals.expire_after: must be from 1s to 366d"),
        (with("scope:\n  max_configs: 1e19"), "scope.max_configs: must be a whole number"),
        (with("http:\n  listen: 127.0.0.1:99999"), "http.listen: must be host:port"),
        (example.replacingOccurrences(of: "https://api-na", with: "http://api-na"), "psa.base_url: it must use https (http only for loopback hosts)"),
        (with("webhooks:\n  autotask: {secret: s}"), "webhooks.autotask: does not go with psa.kind connectwise"),
        (with("criteria:\n  allow_request_override: sometimes", replacing: ("criteria:\n  offboarded_statuses: [\"Inactive\", \"Offboarded\"]\n", "")),
         "criteria.allow_request_override: must be true or false"),
        (with("criteria:\n  match: most", replacing: ("criteria:\n  offboarded_statuses: [\"Inactive\", \"Offboarded\"]\n", "")),
         "criteria.match: must be any or all"),
        (with("criteria:\n  contracts_ended: {after: 1e9d}", replacing: ("criteria:\n  offboarded_statuses: [\"Inactive\", \"Offboarded\"]\n", "")),
         "criteria.contracts_ended.after: must be from 0s to 366d"),
        (with("criteria:\n  contracts_ended: {before: 3d}", replacing: ("criteria:\n  offboarded_statuses: [\"Inactive\", \"Offboarded\"]\n", "")),
         "criteria.contracts_ended.before"),
        (with("criteria:\n  company_types: [\" \"]", replacing: ("criteria:\n  offboarded_statuses: [\"Inactive\", \"Offboarded\"]\n", "")),
         "criteria.company_types: must list non-empty type names"),
        (with("criteria:\n  offboarded_statuses: []", replacing: ("criteria:\n  offboarded_statuses: [\"Inactive\", \"Offboarded\"]\n", "")),
         "criteria.offboarded_statuses: must list at least one non-empty status"),
    ])
    func unsafeOrOutOfRangeSettingsAreRefusedNamingTheKey(yaml: String, expected: String) {
        #expect {
            _ = try OffboarderConfiguration.parse(yaml: yaml, environment: Self.environment)
        } throws: { error in
            let text = "\(error)"
            return text.contains(expected) && !text.contains("\n")
        }
    }

    @Test func httpToALoopbackPSAIsAllowed() throws {
        let yaml = Self.example.replacingOccurrences(of: "https://api-na.myconnectwise.net", with: "http://127.0.0.1:8089")
        #expect(throws: Never.self) { try OffboarderConfiguration.parse(yaml: yaml, environment: Self.environment) }
    }

    @Test func autotaskAndHaloRefuseInsecureURLsToo() throws {
        let autotask = Self.example
            .replacingOccurrences(of: "kind: connectwise", with: "kind: autotask")
            .replacingOccurrences(of: "  base_url: \"https://api-na.myconnectwise.net/v4_6_release/apis/3.0\"\n", with: "")
            .replacingOccurrences(
                of: #"connectwise: {company_id: acme, public_key: "${CW_PUBLIC_KEY}", private_key: "${CW_PRIVATE_KEY}", client_id: "${CW_CLIENT_ID}"}"#,
                with: #"autotask: {api_integration_code: c, username: u, secret: s, zone_information_url: "http://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"}"#)
        #expect { _ = try OffboarderConfiguration.parse(yaml: autotask, environment: Self.environment) } throws: {
            "\($0)".contains("psa.autotask.zone_information_url: it must use https")
        }
        let halo = Self.example
            .replacingOccurrences(of: "kind: connectwise", with: "kind: halopsa")
            .replacingOccurrences(of: "https://api-na.myconnectwise.net/v4_6_release/apis/3.0", with: "https://acme.halopsa.com")
            .replacingOccurrences(
                of: #"connectwise: {company_id: acme, public_key: "${CW_PUBLIC_KEY}", private_key: "${CW_PRIVATE_KEY}", client_id: "${CW_CLIENT_ID}"}"#,
                with: #"halopsa: {client_id: c, client_secret: s, auth_url: "http://acme.halopsa.com/auth"}"#)
        #expect { _ = try OffboarderConfiguration.parse(yaml: halo, environment: Self.environment) } throws: {
            "\($0)".contains("psa.halopsa.auth_url: it must use https")
        }
        // Every PSA keeps the reason (ConnectWise's and HaloPSA's notes, Autotask's note records):
        // the key is read the same for each, and false turns it off.
        let haloURL = halo.replacingOccurrences(of: "http://acme", with: "https://acme")
        for (value, expected) in [("true", true), ("false", false)] {
            let parsed = try OffboarderConfiguration.parse(yaml: haloURL + "\nnotes:\n  write_reason: \(value)", environment: Self.environment)
            #expect(parsed.writeReasonToNotes == expected)
        }
    }

    static let halo = example
        .replacingOccurrences(of: "kind: connectwise", with: "kind: halopsa")
        .replacingOccurrences(of: "https://api-na.myconnectwise.net/v4_6_release/apis/3.0", with: "https://acme.halopsa.com")
        .replacingOccurrences(
            of: #"connectwise: {company_id: acme, public_key: "${CW_PUBLIC_KEY}", private_key: "${CW_PRIVATE_KEY}", client_id: "${CW_CLIENT_ID}"}"#,
            with: #"halopsa: {client_id: c, client_secret: s, BATCH}"#)

    @Test func haloBatchSizeIsReadWithinItsRange() throws {
        func halo(_ batch: String) throws -> OffboarderConfiguration {
            try OffboarderConfiguration.parse(yaml: Self.halo.replacingOccurrences(of: ", BATCH", with: batch), environment: Self.environment)
        }
        guard let defaults = try halo("").psa.settings(as: HaloClient.Configuration.self), let one = try halo(", batch_size: 1").psa.settings(as: HaloClient.Configuration.self) else {
            Issue.record("not a HaloPSA configuration")
            return
        }
        #expect(defaults.batchSize == 50 && one.batchSize == 1)
        for bad in ["0", "501", "1e3", "-1"] {
            #expect { _ = try halo(", batch_size: \(bad)") } throws: { "\($0)".contains("psa.halopsa.batch_size") }
        }
    }

    @Test func adaptivePacingIsOnUnlessTurnedOff() throws {
        func http(_ extra: String) throws -> PSAHTTPTransport.Configuration? {
            guard let configuration = try OffboarderConfiguration.parse(yaml: Self.with(extra), environment: Self.environment).psa.settings(as: ConnectWiseClient.Configuration.self) else {
                return nil
            }
            return configuration.http
        }
        #expect(try http("")?.adaptive != nil)
        #expect(try http("rate_limit:\n  adaptive: true")?.adaptive != nil)
        #expect(try http("rate_limit:\n  adaptive: false")?.adaptive == nil)
        #expect { _ = try http("rate_limit:\n  adaptive: often") } throws: { "\($0)".contains("rate_limit.adaptive: must be true or false") }
    }

    @Test func apiTokensFromTheEnvironmentMeetTheSameMinimum() throws {
        let yaml = Self.with("http:\n  listen: 127.0.0.1:8080\n  api_tokens: [\"a-token-of-enough-length\"]")
        var environment = Self.environment
        environment["PSA_OFFBOARDER_API_TOKENS"] = "another-long-enough-token, short"
        #expect { _ = try OffboarderConfiguration.parse(yaml: yaml, environment: environment) } throws: {
            "\($0)" == "PSA_OFFBOARDER_API_TOKENS: holds a token of 5 characters; use at least 16"
        }
        environment["PSA_OFFBOARDER_API_TOKENS"] = "another-long-enough-token"
        let configuration = try OffboarderConfiguration.parse(yaml: yaml, environment: environment)
        #expect(configuration.http?.apiTokens == ["a-token-of-enough-length", "another-long-enough-token"])
    }

    @Test func thePolicyKeysReachThePolicy() throws {
        let yaml = Self.example
            .replacingOccurrences(of: "offboarded_statuses: [\"Inactive\", \"Offboarded\"]", with: "offboarded_statuses: [\"Offboarded\"]\n  allow_request_override: true")
            .replacingOccurrences(of: "require_approval: false", with: "require_approval: true")
        let policy = try OffboarderConfiguration.parse(yaml: yaml, environment: Self.environment).policy
        #expect(policy == .init(offboardedStatuses: ["Offboarded"], allowRequestOverride: true, requireApproval: true))
        let defaults = try OffboarderConfiguration.parse(yaml: Self.example, environment: Self.environment).policy
        #expect(!defaults.allowRequestOverride && !defaults.requireApproval)
    }

    @Test func theCriteriaKeysReachThePolicy() throws {
        let yaml = Self.with(
            "criteria:\n  offboarded_statuses: []\n  company_types: [Churned]\n  contracts_ended: {after: 30d}\n  match: all",
            replacing: ("criteria:\n  offboarded_statuses: [\"Inactive\", \"Offboarded\"]\n", ""))
        let criteria = try OffboarderConfiguration.parse(yaml: yaml, environment: Self.environment).policy.criteria
        #expect(criteria.statuses.isEmpty && criteria.companyTypes == ["Churned"] && criteria.match == .all)
        #expect(criteria.contractsEndedAfter == .seconds(30 * 86_400))
        #expect(criteria.configured == [.companyTypes, .contractsEnded])
        let defaults = try OffboarderConfiguration.parse(yaml: Self.example, environment: Self.environment).policy.criteria
        #expect(defaults.configured == [.status] && defaults.match == .any && defaults.statusIsRequired)
    }
}
