import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingSandbox
import OffboardingService
import PSASimulators
import Synchronization

/// Per PSA, one Kafka test cluster, one simulator and one running consumer pipeline, shared by
/// every scenario of a test process: librdkafka 2.0.2's mock group makes each new group wait
/// about 3 s on its first join, so each group is joined once. Scenarios stay independent by using
/// clients of their own.
public final class PipelineHarness: Sendable {
    public let psa: PSAKind
    /// The cluster with the service's topics.
    public let kafka: KafkaFixture
    public let cluster: KafkaTestCluster
    public let tenant: any SimulatedTenant
    public let server: SimulatorServer
    public let configuration: OffboarderConfiguration
    public let runtime: OffboarderRuntime
    public let results: TopicCollector
    public let deadLetters: TopicCollector
    public let retries: TopicCollector
    private let producer: KafkaProducer
    private let nextClient = Mutex(200_000)
    private let runTask: Task<Void, any Error>

    public static let topics = KafkaFixture.topics

    private static let harnesses: [PSAKind: Task<PipelineHarness, any Error>] = Dictionary(
        uniqueKeysWithValues: PSAKind.allCases.map { kind in (kind, Task { try await PipelineHarness(psa: kind, groupID: "test-pipeline-\(kind)") }) })

    /// The process-wide harness of this PSA, started on first use.
    public static func shared(_ psa: PSAKind) async throws -> PipelineHarness {
        try await harnesses[psa]!.value
    }

    /// A harness of its own, for a scenario that changes what every request meets (faults on all
    /// calls) or the pipeline's settings; `stop()` it at the end.
    public static func isolated(_ psa: PSAKind, configure: @Sendable (inout OffboarderConfiguration) -> Void) async throws -> PipelineHarness {
        try await PipelineHarness(psa: psa, groupID: "isolated-\(psa)-\(UUID().uuidString)", configure: configure)
    }

    private init(psa: PSAKind, groupID: String, configure: @Sendable (inout OffboarderConfiguration) -> Void = { _ in }) async throws {
        self.psa = psa
        let logger = Logger.test()
        kafka = try KafkaFixture(partitions: .service(), logger: logger)
        cluster = kafka.cluster
        let topics = Self.topics
        let (tenant, psaConfiguration) = SimulatedPSAs.make(psa)
        self.tenant = tenant
        server = try await SimulatorServer.start(router: tenant.makeRouter(), logger: logger)
        var configuration = OffboarderConfiguration(
            kafka: .init(
                bootstrapServers: cluster.bootstrapServers, groupID: groupID, topics: topics,
                properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]),
            psa: psaConfiguration(server.baseURL),
            defaults: OffboardingOptions(offboardedStatuses: ["Inactive", "Offboarded"]))
        configuration.signingKeys = [Self.signingKey]
        // Retries come due quickly in tests; three attempts in all.
        configuration.retryTopicInitialDelay = .milliseconds(300)
        configuration.retryTopicMaxAttempts = 3
        // Approvals expire soon enough for a test to see it; expiry is looked for every second.
        configuration.approvalLifetime = .seconds(20)
        configuration.approvalExpiryInterval = .seconds(1)
        configuration.http = .init(host: "127.0.0.1", port: 0, apiTokens: [Self.apiToken])
        configuration.webhooks = .init(
            connectWiseKeyURLHosts: ["127.0.0.1"], autotaskSecret: Self.autotaskWebhookSecret,
            haloCredentials: (Self.haloWebhookCredentials.username, Self.haloWebhookCredentials.password))
        configure(&configuration)
        self.configuration = configuration
        results = try kafka.collector(of: topics.results)
        deadLetters = try kafka.collector(of: topics.deadLetter)
        retries = try kafka.collector(of: topics.retry)
        events = try kafka.collector(of: topics.events)
        producer = try kafka.makeProducer()
        signer = try configuration.requireSigner()
        runtime = try OffboarderRuntime(configuration: configuration, logger: logger, signals: [])
        let runtime = self.runtime
        runTask = Task { try await runtime.run() }
        guard let port = await runtime.httpServer?.boundPort() else { throw SimulatorError("the HTTP server did not start") }
        apiBaseURL = "http://127.0.0.1:\(port)"
        // Scenarios start once the results and approvals topics have been read; a pipeline that
        // has not read them in a minute fails the harness rather than going on.
        let pipeline = runtime.pipeline
        try await waitUntil(timeout: .seconds(60), "the pipeline to read the results and approvals topics") {
            let resultsRead: Bool = if case .notReady = pipeline.latestResult(for: "") { false } else { true }
            return resultsRead && pipeline.approvalsReady
        }
    }

    /// Returns once the pipeline owns partitions (a new group's first join takes about 3 s on the mock).
    public func waitForAssignment() async throws {
        try await results.wait(timeout: .seconds(60), for: "the pipeline's first assignment") { _ in !self.runtime.pipeline.assignment.isEmpty }
    }

    /// Stops the pipeline (a graceful shutdown), the readers and the simulator.
    public func stop() async throws {
        await runtime.triggerGracefulShutdown()
        try await runTask.value
        for collector in [results, deadLetters, retries, events] { await collector.stop() }
        await producer.shutdown()
        await server.stop()
    }

    public static let apiToken = "test-api-token-0123456789abcdef"
    /// The service's record signing key in the tests: a record a test writes with it is one the
    /// service wrote, as far as the service can tell; one without it is a forgery.
    public static let signingKey = "test-signing-key-0123456789abcdef-0123456789"
    public let signer: RecordSigner
    public static let autotaskWebhookSecret = "autotask-webhook-secret"
    public static let haloWebhookCredentials = (username: "halo-hook", password: "halo-hook-password")

    /// The running service's HTTP server.
    public let apiBaseURL: String
    /// Everything on the events topic, including what the HTTP API and webhooks put there.
    public let events: TopicCollector

    /// The records on the events topic with this event id.
    public func eventRecords(withID id: String) -> [KafkaRecord] {
        events.records.filter { record in
            guard let value = record.value, let event = try? CloudEventDecoder.decode(value: value, headers: record.headerStrings) else { return false }
            return event.id == id
        }
    }

    /// The event records whose company id is this one.
    public func eventRecords(forClient id: Int) -> [CompanyStatusChangedEvent] {
        events.records.compactMap { record in
            guard record.keyString == String(id), let value = record.value else { return nil }
            return try? CloudEventDecoder.decode(value: value, headers: record.headerStrings)
        }
    }

    /// Returns once every event already acknowledged for this client is in `events`: a marker on
    /// the same key (so the same partition, after them) has been read. The events for the client,
    /// without the marker, are returned. What an HTTP call put on the topic before it answered is
    /// acknowledged, so this is how a test shows that nothing more came of it, without waiting for time.
    public func settledEvents(forClient id: Int) async throws -> [CompanyStatusChangedEvent] {
        let marker = event(forClient: id, status: "Active")
        try await send(marker)
        _ = try await events.wait(timeout: .seconds(60), for: "the marker event of client \(id)") { _ in !self.eventRecords(withID: marker.id).isEmpty }
        return eventRecords(forClient: id).filter { $0.id != marker.id }
    }

    /// Sends a record to any topic of the cluster, signed with the service's key as the service
    /// signs what it writes, or (`signed: false`) as anyone else who can write to the topic.
    /// `partition` nil lets the key choose it.
    public func sendRecord(
        topic: String, partition: Int32? = nil, key: String?, value: [UInt8]?, headers: [(String, String)] = [], signed: Bool = true
    ) async throws {
        var record = KafkaOutgoingRecord(
            topic: topic, partition: partition, key: key.map { Array($0.utf8) }, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) })
        if signed { signer.sign(&record) }
        try await producer.send(record)
    }

    /// A client of its own for one scenario. Ids have six digits, so none is a prefix of another.
    /// - Parameter name: the client's name in the PSA; `Client {id}` by default.
    public func makeClient(offboarded: Bool = true, active: Int, inactive: Int = 0, name: String? = nil) async -> (id: Int, configurations: [Int]) {
        let id = nextClient.withLock { next in
            defer { next += 1 }
            return next
        }
        let configurations = await tenant.addClient(id: id, name: name ?? "Client \(id)", offboarded: offboarded, active: active, inactive: inactive)
        return (id, configurations)
    }

    public func event(
        forClient id: Int, status: String = "Offboarded", options: OffboardingOptions.Overrides = .init(), psa: PSAKind? = nil
    ) -> CompanyStatusChangedEvent {
        CompanyStatusChangedEvent(
            id: UUID().uuidString.lowercased(), source: "psa/\(self.psa)/test", time: "2026-01-22T10:30:00Z", psa: psa ?? self.psa,
            companyID: String(id), companyName: "Client \(id)", previousStatus: "Active", status: status, options: options)
    }

    public func send(_ event: CompanyStatusChangedEvent, binary: Bool = false) async throws {
        let (headers, value) = binary ? CloudEventEncoder.binary(event) : CloudEventEncoder.structured(event)
        try await sendRaw(key: event.companyID, value: value, headers: headers)
    }

    public func sendRaw(key: String?, value: [UInt8]?, headers: [(String, String)] = []) async throws {
        try await producer.send(
            KafkaOutgoingRecord(topic: Self.topics.events, key: key, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
    }

    /// Waits until `count` results for this event id arrived, and returns them decoded, in order.
    public func results(for eventID: String, count: Int, timeout: Duration = .seconds(60)) async throws -> [OffboardingResult] {
        let records = try await results.wait(timeout: timeout, for: "\(count) results of \(eventID)") { records in
            records.filter { $0.headers.last(named: "offboarding.event.id")?.stringValue == eventID }.count >= count
        }
        return try records.filter { $0.headers.last(named: "offboarding.event.id")?.stringValue == eventID }
            .map { try ValidatedResult.decode($0.value ?? []) }
    }

    /// The results published for this event id so far.
    public func results(for eventID: String) -> [KafkaRecord] {
        results.records.filter { $0.headers.last(named: "offboarding.event.id")?.stringValue == eventID }
    }

    /// Waits for the event's first result, checks it against the result schema and decodes it.
    public func result(for eventID: String, timeout: Duration = .seconds(60)) async throws -> (record: KafkaRecord, result: OffboardingResult) {
        let records: [KafkaRecord]
        do {
            records = try await results.wait(timeout: timeout, for: "the result of \(eventID)") { records in
                records.contains { $0.headers.last(named: "offboarding.event.id")?.stringValue == eventID }
            }
        } catch {
            // What the pipeline was doing says more than the wait: stalled, waiting, or owning nothing.
            let pipeline = runtime.pipeline
            throw ConditionTimeout(
                description: "\(error); the \(psa) pipeline: \(pipeline.health()), assigned \(pipeline.assignment.count), \(pipeline.statistics.snapshot), pacing \(String(describing: runtime.psa.pacing))")
        }
        let record = records.first { $0.headers.last(named: "offboarding.event.id")?.stringValue == eventID }!
        return (record, try ValidatedResult.decode(record.value ?? []))
    }
}
