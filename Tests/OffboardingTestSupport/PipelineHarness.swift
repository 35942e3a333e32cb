import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import OffboardingService
import PSAConnectWise
import PSASimulators
import Synchronization

/// One Kafka test cluster, one ConnectWise simulator and one running consumer pipeline, shared by
/// every scenario of a test process: librdkafka 2.0.2's mock group makes each new group wait
/// about 3 s on its first join, so the group is joined once. Scenarios stay independent by using
/// companies of their own.
public final class PipelineHarness: Sendable {
    public let cluster: KafkaTestCluster
    public let simulator: ConnectWiseSimulator
    public let server: SimulatorServer
    public let configuration: OffboarderConfiguration
    public let runtime: OffboarderRuntime
    public let results: TopicCollector
    public let deadLetters: TopicCollector
    private let producer: KafkaProducer
    private let nextCompany = Mutex(200_000)
    private let runTask: Task<Void, any Error>

    public static let topics = OffboarderConfiguration.Topics(
        events: "test.company.status-changed", results: "test.offboarding.results", deadLetter: "test.offboarding.dlq")

    /// The process-wide harness, started on first use.
    public static let shared = Task<PipelineHarness, any Error> { try await PipelineHarness() }

    private init() async throws {
        let logger = Logger.test()
        cluster = try KafkaTestCluster(brokers: 1, logger: logger)
        let topics = Self.topics
        try cluster.createTopic(topics.events, partitions: 4)
        try cluster.createTopic(topics.results, partitions: 4)
        try cluster.createTopic(topics.deadLetter, partitions: 1)
        simulator = ConnectWiseSimulator(data: .empty())
        server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: logger)
        configuration = Self.configuration(bootstrap: cluster.bootstrapServers, simulatorURL: server.baseURL, groupID: "test-pipeline")
        results = try TopicCollector(
            bootstrapServers: cluster.bootstrapServers,
            partitions: (0..<4).map { KafkaTopicPartition(topic: topics.results, partition: $0) }, logger: logger)
        deadLetters = try TopicCollector(
            bootstrapServers: cluster.bootstrapServers, partitions: [KafkaTopicPartition(topic: topics.deadLetter, partition: 0)],
            logger: logger)
        producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        runtime = try OffboarderRuntime(configuration: configuration, logger: logger, signals: [])
        let runtime = self.runtime
        runTask = Task { try await runtime.run() }
    }

    public static func configuration(bootstrap: String, simulatorURL: String, groupID: String) -> OffboarderConfiguration {
        let credentials = ConnectWiseSimulator.Credentials.sandbox
        return OffboarderConfiguration(
            kafka: .init(
                bootstrapServers: bootstrap, groupID: groupID, topics: topics,
                properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]),
            psa: .connectwise(
                .init(
                    baseURL: simulatorURL + ConnectWiseSimulator.apiPath, companyID: credentials.companyID,
                    publicKey: credentials.publicKey, privateKey: credentials.privateKey, clientID: credentials.clientID)),
            defaults: OffboardingOptions(offboardedStatuses: ["Inactive", "Offboarded"]))
    }

    /// A company of its own for one scenario, with `active` and `inactive` configurations.
    public func makeCompany(
        status: ConnectWiseDataset.Status = ConnectWiseDataset.offboardedCompanyStatus, active: Int, inactive: Int = 0
    ) async -> ConnectWiseDataset.Company {
        let id = nextCompany.withLock { next in
            defer { next += 1 }
            return next
        }
        let company = ConnectWiseDataset.Company(id: id, identifier: "Client\(id)", name: "Client \(id)", status: status)
        let configurations = (0..<(active + inactive)).map { index in
            ConnectWiseDataset.Configuration(
                id: id * 10_000 + index + 1, name: "Device \(index + 1) of \(id)", companyID: id,
                statusID: index < active ? ConnectWiseDataset.activeConfigurationStatus.id : ConnectWiseDataset.inactiveConfigurationStatus.id)
        }
        await simulator.add(company: company, configurations: configurations)
        return company
    }

    public func event(
        for company: ConnectWiseDataset.Company, status: String = "Offboarded", options: OffboardingOptions.Overrides = .init(),
        psa: PSAKind = .connectwise
    ) -> CompanyStatusChangedEvent {
        CompanyStatusChangedEvent(
            id: UUID().uuidString.lowercased(), source: "psa/connectwise/acme", time: "2026-01-22T10:30:00Z", psa: psa,
            companyID: String(company.id), companyName: company.name, previousStatus: "Active", status: status, options: options)
    }

    public func send(_ event: CompanyStatusChangedEvent, binary: Bool = false) async throws {
        let (headers, value) = binary ? CloudEventEncoder.binary(event) : CloudEventEncoder.structured(event)
        try await sendRaw(key: event.companyID, value: value, headers: headers)
    }

    public func sendRaw(key: String?, value: [UInt8]?, headers: [(String, String)] = []) async throws {
        try await producer.send(
            KafkaOutgoingRecord(topic: Self.topics.events, key: key, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
    }

    /// The results published for this event id so far.
    public func results(for eventID: String) -> [KafkaRecord] {
        results.records.filter { $0.headers.last(named: "offboarding.event.id")?.stringValue == eventID }
    }

    /// Waits for the event's first result and decodes it.
    public func result(for eventID: String, timeout: Duration = .seconds(60)) async throws -> (record: KafkaRecord, result: OffboardingResult) {
        let records = try await results.wait(timeout: timeout, for: "the result of \(eventID)") { records in
            records.contains { $0.headers.last(named: "offboarding.event.id")?.stringValue == eventID }
        }
        let record = records.first { $0.headers.last(named: "offboarding.event.id")?.stringValue == eventID }!
        return (record, try ValidatedResult.decode(record.value ?? []))
    }
}
