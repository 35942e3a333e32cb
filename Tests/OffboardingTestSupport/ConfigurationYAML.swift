import Foundation
import OffboardingService
import PSASimulators

/// A configuration file for a `psa-offboarder` process under test: the Kafka block (servers,
/// group, topics, librdkafka properties), a PSA block, and the optional sections a test sets,
/// rendered as YAML and written to a file of its own.
public struct ConfigurationYAML: Sendable {
    public var signingKeys: [String] = [PipelineHarness.signingKey]
    public var bootstrapServers: String
    public var groupID: String
    public var topics: OffboarderConfiguration.Topics
    /// Whether `retry` and `approvals` are written out; without them the service's defaults apply.
    public var namesRetryAndApprovalsTopics = false
    /// librdkafka properties, in this order.
    public var kafkaProperties: KeyValuePairs<String, String> = [:]
    /// The `psa:` block, as YAML.
    public var psa: String
    /// `criteria.offboarded_statuses`; nil leaves the section out.
    public var offboardedStatuses: [String]? = ["Inactive", "Offboarded"]
    /// `schedule.cron`; nil leaves the section out.
    public var cron: String?
    /// Top-level sections as written, one a string (`http: {...}`, `tracing: {...}`, `rate_limit: {...}`, ...).
    public var sections: [String] = []

    public init(
        bootstrapServers: String, groupID: String, topics: OffboarderConfiguration.Topics = KafkaFixture.topics, psa: String,
        kafkaProperties: KeyValuePairs<String, String> = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
        self.topics = topics
        self.psa = psa
        self.kafkaProperties = kafkaProperties
    }

    /// The ConnectWise sandbox's `psa:` block, its keys read from the environment (`connectWiseEnvironment`).
    public static func connectWiseFromEnvironment(serverURL: String) -> String {
        """
        psa:
          kind: connectwise
          base_url: "\(serverURL)\(ConnectWiseSimulator.apiPath)"
          connectwise: {company_id: acme, public_key: "${CW_PUBLIC_KEY}", private_key: "${CW_PRIVATE_KEY}", client_id: "${CW_CLIENT_ID}"}
        """
    }

    /// The environment `connectWiseFromEnvironment` reads the sandbox's keys from.
    public static let connectWiseEnvironment: [String: String] = {
        let credentials = ConnectWiseSimulator.Credentials.sandbox
        return ["CW_PUBLIC_KEY": credentials.publicKey, "CW_PRIVATE_KEY": credentials.privateKey, "CW_CLIENT_ID": credentials.clientID]
    }()

    public var rendered: String {
        var topicEntries = [("events", topics.events), ("results", topics.results), ("dead_letter", topics.deadLetter)]
        if namesRetryAndApprovalsTopics { topicEntries += [("retry", topics.retry), ("approvals", topics.approvals)] }
        var lines = [
            "security: {signing_keys: [\(signingKeys.map(Self.quoted).joined(separator: ", "))]}",
            "kafka:",
            "  bootstrap_servers: \(Self.quoted(bootstrapServers))",
            "  group_id: \(Self.quoted(groupID))",
            "  topics: {\(topicEntries.map { "\($0.0): \(Self.quoted($0.1))" }.joined(separator: ", "))}",
        ]
        if !kafkaProperties.isEmpty {
            lines.append("  properties: {\(kafkaProperties.map { "\(Self.quoted($0.key)): \(Self.quoted($0.value))" }.joined(separator: ", "))}")
        }
        lines.append(psa)
        if let offboardedStatuses {
            lines.append("criteria: {offboarded_statuses: [\(offboardedStatuses.map(Self.quoted).joined(separator: ", "))]}")
        }
        if let cron { lines.append("schedule: {cron: \(Self.quoted(cron))}") }
        lines += sections
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the file to the temporary directory and returns its path.
    public func write() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("psa-offboarder-\(UUID().uuidString).yaml").path
        try rendered.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A double-quoted YAML scalar (JSON's escapes are YAML's).
    static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = try! encoder.encode(text)
        return String(decoding: data, as: UTF8.self)
    }
}
