import Foundation
import OffboardingService
import OffboardingTestSupport
import PSAAutotask
import PSAConnectWise
import PSAHalo
import PSAHTTP
import Testing

@Suite struct ConfigurationTests {
    /// The contract's example, as written there and with the signing key this version requires.
    static let contractText = ContractExample.text
    static let contractExample = ContractExample.signed
    static let environment = ContractExample.environment

    /// The tests' configuration builder (`ConfigurationYAML`) writes what the parser reads back,
    /// quoting included.
    @Test func theTestConfigurationBuilderWritesWhatTheParserReads() throws {
        var yaml = ConfigurationYAML(
            bootstrapServers: "127.0.0.1:9092", groupID: #"group "quoted" \ slashed/"#,
            psa: ConfigurationYAML.connectWiseFromEnvironment(serverURL: "http://127.0.0.1:1"), kafkaProperties: ["session.timeout.ms": "6000"])
        yaml.namesRetryAndApprovalsTopics = true
        yaml.cron = "0 2 * * *"
        yaml.sections = ["rate_limit: {max_in_flight: 2}"]
        let parsed = try OffboarderConfiguration.parse(yaml: yaml.rendered, environment: ConfigurationYAML.connectWiseEnvironment)
        #expect(parsed.kafka.bootstrapServers == "127.0.0.1:9092")
        #expect(parsed.kafka.groupID == #"group "quoted" \ slashed/"#)
        #expect(parsed.kafka.topics == KafkaFixture.topics)
        #expect(parsed.kafka.properties == ["session.timeout.ms": "6000"])
        #expect(parsed.defaults.offboardedStatuses == ["Inactive", "Offboarded"])
        #expect(parsed.signingKeys == [PipelineHarness.signingKey])
        #expect(parsed.schedule != nil)
        #expect(parsed.psa.kind == .connectwise)
    }

    /// There is no unsigned mode: without a key the service does not start, and says which key
    /// is missing and how to make one; a short key is refused, naming it.
    @Test func aSigningKeyIsRequiredAndLongEnough() throws {
        #expect {
            _ = try OffboarderConfiguration.parse(yaml: Self.contractText, environment: Self.environment)
        } throws: { error in
            "\(error)".hasPrefix("security.signing_keys: is required") && "\(error)".contains("openssl rand -base64 32")
        }
        #expect {
            _ = try OffboarderConfiguration.parse(yaml: Self.contractText + "\nsecurity: {signing_keys: [\"${A}\", short]}", environment: ["A": String(repeating: "k", count: 32)].merging(Self.environment) { $1 })
        } throws: { error in
            "\(error)" == "security.signing_keys[1]: is 5 bytes; use at least 32 (openssl rand -base64 32)"
        }
        let rotated = try OffboarderConfiguration.parse(
            yaml: Self.contractText + "\nsecurity: {signing_keys: [\"${NEW}\", \"${OLD}\"]}",
            environment: Self.environment.merging(["NEW": String(repeating: "n", count: 40), "OLD": String(repeating: "o", count: 40)]) { $1 })
        #expect(rotated.signingKeys == [String(repeating: "n", count: 40), String(repeating: "o", count: 40)], "the first signs, every one verifies")
    }

    @Test func theContractsExampleParsesWithSecretsFromTheEnvironment() throws {
        let configuration = try OffboarderConfiguration.parse(yaml: Self.contractExample, environment: Self.environment)
        #expect(configuration.kafka.bootstrapServers == "127.0.0.1:9092")
        #expect(configuration.kafka.topics.deadLetter == "psa.offboarding.dlq")
        #expect(configuration.kafka.topics.retry == "psa.offboarding.retry")
        #expect(configuration.defaults.offboardedStatuses == ["Inactive", "Offboarded"])
        #expect(configuration.maxConcurrentUpdates == 8)
        guard let cw = configuration.psa.settings(as: ConnectWiseClient.Configuration.self) else { Issue.record("not connectwise"); return }
        #expect(cw.publicKey == "pub" && cw.privateKey == "priv" && cw.clientID == "cid" && cw.companyID == "acme")
    }

    @Test(arguments: [
        ("kafka:\n  bootstrap_server: x", "kafka.bootstrap_server"),
        (contractExample + "\nextra: 1", "extra: is not a known key"),
        (contractExample.replacingOccurrences(of: "group_id: psa-offboarder", with: "group_id: psa-offboarder\n  group: typo"), "kafka.group: is not a known key"),
        (contractExample.replacingOccurrences(of: "dry_run: false", with: "dry_run: maybe"), "defaults.dry_run: must be true or false"),
        (contractExample.replacingOccurrences(of: "kind: connectwise", with: "kind: servicenow"), "psa.kind: must be connectwise"),
        (contractExample.replacingOccurrences(of: "https://api-na", with: "ftp://api-na"), "psa.base_url: it is not an http(s) URL with a host"),
        (contractExample.replacingOccurrences(of: "${CW_CLIENT_ID}", with: "${CW_MISSING}"), "psa.connectwise.client_id: the environment variable CW_MISSING is not set"),
        (contractExample.replacingOccurrences(of: "  group_id: psa-offboarder\n", with: ""), "kafka.group_id: is required"),
        ("kafka: [1, 2", "not valid YAML"),
    ])
    func badFilesGiveOneLineNamingTheKey(yaml: String, expected: String) {
        #expect {
            _ = try OffboarderConfiguration.parse(yaml: yaml, environment: Self.environment)
        } throws: { error in
            let text = "\(error)"
            return text.contains(expected) && !text.contains("\n")
        }
    }

    @Test func autotaskAndHaloBlocksParseWithTheirDefaults() throws {
        let autotask = Self.contractExample.replacingOccurrences(
            of: """
              kind: connectwise                        # connectwise | autotask | halopsa
              base_url: "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
              connectwise: {company_id: acme, public_key: "${CW_PUBLIC_KEY}", private_key: "${CW_PRIVATE_KEY}", client_id: "${CW_CLIENT_ID}"}
            """,
            with: """
              kind: autotask
              autotask: {api_integration_code: CODE, username: api@example.com, secret: "${CW_PRIVATE_KEY}"}
            """)
        guard let at = try OffboarderConfiguration.parse(yaml: autotask, environment: Self.environment).psa.settings(as: AutotaskClient.Configuration.self) else {
            Issue.record("not autotask")
            return
        }
        #expect(at.baseURL == nil && at.secret == "priv" && at.username == "api@example.com")
        #expect(at.zoneInformationURL == "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation")

        let halo = Self.contractExample.replacingOccurrences(
            of: """
              kind: connectwise                        # connectwise | autotask | halopsa
              base_url: "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
              connectwise: {company_id: acme, public_key: "${CW_PUBLIC_KEY}", private_key: "${CW_PRIVATE_KEY}", client_id: "${CW_CLIENT_ID}"}
            """,
            with: """
              kind: halopsa
              base_url: "https://acme.halopsa.com"
              halopsa: {client_id: c, client_secret: "${CW_PRIVATE_KEY}", tenant: acme}
            """)
        guard let hp = try OffboarderConfiguration.parse(yaml: halo, environment: Self.environment).psa.settings(as: HaloClient.Configuration.self) else {
            Issue.record("not halopsa")
            return
        }
        #expect(hp.authURL == "https://acme.halopsa.com/auth" && hp.scope == "all" && hp.tenant == "acme" && hp.clientSecret == "priv")

        let mixed = Self.contractExample.replacingOccurrences(of: "kind: connectwise", with: "kind: halopsa")
        #expect {
            _ = try OffboarderConfiguration.parse(yaml: mixed, environment: Self.environment)
        } throws: { "\($0)" == "psa.connectwise: does not go with psa.kind halopsa" }
    }

    @Test func retrySettingsReachTheAdapter() throws {
        let yaml = Self.contractExample + "\nretry: {max_attempts: 7, initial_backoff: 100ms, max_backoff: 5s, budget: 2m, max_retry_after: 30s}\n"
        let cw = try OffboarderConfiguration.parse(yaml: yaml, environment: Self.environment).psa
        #expect(cw.kind == .connectwise)
        #expect(cw.http.maxAttempts == 7 && cw.http.initialBackoff == .milliseconds(100) && cw.http.maxBackoff == .seconds(5))
        #expect(cw.http.budget == .seconds(120) && cw.http.maxRetryAfter == .seconds(30))
        #expect {
            _ = try OffboarderConfiguration.parse(yaml: Self.contractExample + "\nretry: {budget: soon}\n", environment: Self.environment)
        } throws: { "\($0)" == "retry.budget: must be a duration such as 250ms, 30s, 5m, 1h or 3d, not \"soon\"" }
    }

    /// The contract example for HaloPSA instead of ConnectWise.
    static let haloExample = contractExample
        .replacingOccurrences(of: "kind: connectwise ", with: "kind: halopsa ")
        .replacingOccurrences(
            of: "connectwise: {company_id: acme, public_key: \"${CW_PUBLIC_KEY}\", private_key: \"${CW_PRIVATE_KEY}\", client_id: \"${CW_CLIENT_ID}\"}",
            with: "halopsa: {client_id: c, client_secret: s}")

    @Test func eachPSAGetsItsOwnPacingUnlessTheFileSaysOtherwise() throws {
        let connectwise = try OffboarderConfiguration.parse(yaml: Self.contractExample, environment: Self.environment).psa
        #expect(connectwise.kind == .connectwise && connectwise.http.rateLimit == nil && connectwise.http.maxInFlight == 16)

        let halo = Self.haloExample
        let defaults = try OffboarderConfiguration.parse(yaml: halo, environment: Self.environment).psa
        #expect(defaults.kind == .halopsa && defaults.http.rateLimit == .init(maxRequests: 300, per: .seconds(300)))
        let tuned = try OffboarderConfiguration.parse(yaml: halo + "\nrate_limit: {requests: 450, per: 5m, max_in_flight: 4}\n", environment: Self.environment).psa
        #expect(tuned.http.rateLimit == .init(maxRequests: 450, per: .seconds(300)) && tuned.http.maxInFlight == 4)
        #expect {
            _ = try OffboarderConfiguration.parse(yaml: halo + "\nrate_limit: {requests: 450}\n", environment: Self.environment)
        } throws: { "\($0)" == "rate_limit.per: goes with rate_limit.requests" }
    }

    /// The README's promise: `requests: 0` turns the window off (HaloPSA's default included) and
    /// `max_in_flight: 0` the bound (ConnectWise's default 16 included), and the adapter is built
    /// without them.
    @Test func zeroTurnsTheWindowAndTheInFlightBoundOff() throws {
        let halo = Self.haloExample
        let unlimited = try OffboarderConfiguration.parse(yaml: halo + "\nrate_limit: {requests: 0, per: 5m, max_in_flight: 0}\n", environment: Self.environment).psa
        #expect(unlimited.kind == .halopsa && unlimited.http.rateLimit == nil && unlimited.http.maxInFlight == nil)
        let unbounded = try OffboarderConfiguration.parse(yaml: Self.contractExample + "\nrate_limit: {max_in_flight: 0}\n", environment: Self.environment).psa
        #expect(unbounded.kind == .connectwise && unbounded.http.maxInFlight == nil)
        #expect {
            _ = try OffboarderConfiguration.parse(yaml: Self.contractExample + "\nrate_limit: {max_in_flight: -1}\n", environment: Self.environment)
        } throws: { "\($0)".hasPrefix("rate_limit.max_in_flight: ") }
    }

    @Test func secretsCanComeFromFiles() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try "from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        let yaml = Self.contractExample.replacingOccurrences(of: "${CW_PRIVATE_KEY}", with: "${file:\(file)}")
        let configuration = try OffboarderConfiguration.parse(yaml: yaml, environment: Self.environment)
        guard let cw = configuration.psa.settings(as: ConnectWiseClient.Configuration.self) else {
            Issue.record("not a ConnectWise configuration: \(configuration.psa.kind)")
            return
        }
        #expect(cw.privateKey == "from-file")
    }

    @Test func passThroughPropertiesAndConcurrencyBound() throws {
        let yaml = Self.contractExample.replacingOccurrences(of: "properties: {}", with: "properties: {security.protocol: SSL, \"fetch.min.bytes\": 1}")
            + "\nrate_limit:\n  max_concurrent_updates: 3\n"
        let configuration = try OffboarderConfiguration.parse(yaml: yaml, environment: Self.environment)
        #expect(configuration.kafka.properties == ["security.protocol": "SSL", "fetch.min.bytes": "1"])
        #expect(configuration.maxConcurrentUpdates == 3)
    }
}
