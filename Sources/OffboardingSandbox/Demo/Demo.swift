import Foundation
import Logging
import OffboardingCore
import OffboardingService
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingNotify
import PSASimulators

/// `psa-offboarder demo`: an in-process Kafka test cluster and a sandbox of each PSA with sample
/// data, the real consumer pipeline per PSA over a handful of sample events, each result printed.
public enum Demo {
    public struct Report: Sendable {
        public var results: [OffboardingResult]
        public var deadLetters: [KafkaRecord]
        /// What the demo's webhook receiver got.
        public var notices: [NoticeReceiver.Delivery]
    }

    struct SampleEvent {
        var event: CompanyStatusChangedEvent
        var binary = false
        var what: String
    }

    /// Makes a sample event: id, company id, name, status, options.
    typealias EventMaker = (String, String, String?, String, OffboardingOptions.Overrides) -> CompanyStatusChangedEvent

    /// The sample events per PSA; the ids match the sandboxes' sample tenants.
    static func sampleEvents(for psa: PSAKind) -> [SampleEvent] {
        let source = "psa/\(psa)/demo"
        let event: EventMaker = { id, company, name, status, options in
            CompanyStatusChangedEvent(
                id: id, source: source, time: "2026-01-22T10:30:00Z", psa: psa, companyID: company, companyName: name, previousStatus: "Active",
                status: status, options: options)
        }
        return PSASandbox.sandboxed(psa)?.sampleEvents(event) ?? []
    }

    /// A result as the results topic carries it, indented.
    public static func json(_ result: OffboardingResult) throws -> String {
        String(decoding: try ResultEncoding.encode(result, pretty: true), as: UTF8.self)
    }

    /// - Parameter render: how a result is shown (by default its JSON); the command passes its
    ///   summary table at a terminal.
    public static func run(
        logger: Logger, render: (OffboardingResult) throws -> String = Self.json, print: @Sendable (String) -> Void
    ) async throws -> Report {
        let cluster = try KafkaTestCluster(brokers: 1, logger: logger)
        let results = "psa.offboarding.results"
        let deadLetter = "psa.offboarding.dlq"
        try cluster.createTopic(results, partitions: 1)
        try cluster.createTopic(deadLetter, partitions: 1)
        print("Kafka test cluster at \(cluster.bootstrapServers)")

        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let signingKey = RecordSigner.randomKey()
        var runtimes: [OffboarderRuntime] = []
        var servers: [SimulatorServer] = []
        var expectedResults = 0
        // A local receiver stands in for the MSP's automation: ConnectWise's service tells it
        // (one service only, as the results topic is shared), signed as Standard Webhooks say.
        let receiver = NoticeReceiver()
        let receiverServer = try await SimulatorServer.start(router: receiver.router(), logger: logger)
        servers.append(receiverServer)
        print("notice receiver at \(receiverServer.baseURL)/hooks/offboarder")
        for psa in PSAKind.allCases {
            let sandbox = try PSASandbox.make(psa, dataset: .sample)
            let server = try await SimulatorServer.start(router: sandbox.tenant.makeRouter(), logger: logger)
            servers.append(server)
            // One events topic and group per PSA: a consumer serves one PSA, and dead-letters events for another.
            let topics = OffboarderConfiguration.Topics(
                events: "psa.company.status-changed.\(psa)", results: results, deadLetter: deadLetter, retry: "psa.offboarding.retry.\(psa)",
                approvals: "psa.offboarding.approvals.\(psa)")
            try cluster.createTopic(topics.events, partitions: 4)
            try cluster.createTopic(topics.retry, partitions: 1)
            try cluster.createTopic(topics.approvals, partitions: 1)
            var configuration = OffboarderConfiguration(
                kafka: .init(bootstrapServers: cluster.bootstrapServers, groupID: "psa-offboarder-demo-\(psa)", topics: topics),
                psa: sandbox.configuration(server.baseURL), defaults: OffboardingOptions(offboardedStatuses: OffboardingCriteria.defaultStatuses))
            // A key of its own: the demo's records are signed as a deployment's are.
            configuration.signingKeys = [signingKey]
            configuration.companyTypes = PSASandbox.sandboxed(psa)?.sampleCompanyTypes ?? []
            if psa == .connectwise {
                configuration.notify = .init(
                    consoleURL: nil,
                    channels: [
                        NoticeChannel(
                            name: "automation", kind: .webhook, url: URL(string: "\(receiverServer.baseURL)/hooks/offboarder")!,
                            secret: try StandardWebhook.Secret("whsec_" + RecordSigner.randomKey()))
                    ])
                configuration.notify.startAtEnd = false
            }
            print("\(psa) sandbox at \(server.baseURL)")
            for sample in sampleEvents(for: psa) {
                try await producer.send(.event(sample.event, topic: topics.events, binary: sample.binary))
                print("  sent \(sample.event.id): \(sample.what)")
                if configuration.wouldProcess(sample.event) { expectedResults += 1 }
            }
            if psa == .connectwise {
                try await producer.send(KafkaOutgoingRecord(topic: topics.events, key: "12345", value: Array("{not json".utf8)))
                print("  sent a record that is not JSON: dead-lettered")
            }
            runtimes.append(try OffboarderRuntime(configuration: configuration, logger: logger, signals: []))
        }
        await producer.shutdown()

        let resultReader = try TopicCollector(
            bootstrapServers: cluster.bootstrapServers, partitions: [.init(topic: results, partition: 0)], logger: logger)
        let deadLetterReader = try TopicCollector(
            bootstrapServers: cluster.bootstrapServers, partitions: [.init(topic: deadLetter, partition: 0)], logger: logger)
        let running = runtimes.map { runtime in Task { try await runtime.run() } }
        print("consumer pipelines started (the test cluster's first group join takes about 3 s)")
        let resultRecords = try await resultReader.wait(timeout: .seconds(60), for: "\(expectedResults) results") { $0.count >= expectedResults }
        let deadLetterRecords = try await deadLetterReader.wait(timeout: .seconds(30), for: "1 dead letter") { $0.count >= 1 }
        // The dead letter is told at least; a result with warnings too.
        let told = await receiver.waitForDelivery(timeout: .seconds(30)) { String(decoding: $0.body, as: UTF8.self).contains("dead_lettered") }
        if !told { print("\nno notice reached the receiver within 30 s") }
        for runtime in runtimes { await runtime.triggerGracefulShutdown() }
        for task in running { try await task.value }
        await resultReader.stop()
        await deadLetterReader.stop()
        for server in servers { await server.stop() }

        var decoded: [OffboardingResult] = []
        for record in resultRecords { decoded.append(try ResultEncoding.decode(record.value ?? [])) }
        decoded.sort { ($0.psa.rawValue, $0.eventID) < ($1.psa.rawValue, $1.eventID) }
        for result in decoded {
            print("\nresult for event \(result.eventID) (\(result.psa) client \(result.clientID)):\n\(try render(result))")
        }
        for record in deadLetterRecords {
            let header = { (name: String) in record.headers.last(named: name)?.stringValue ?? "?" }
            print("\ndead letter from \(header("dlq.source.topic")) offset \(header("dlq.source.offset")): \(header("dlq.error.code")): \(header("dlq.reason"))")
        }
        let totals = runtimes.map(\.pipeline.statistics.snapshot).reduce(into: PipelineStatistics.Snapshot()) { sum, next in
            sum.received += next.received
            sum.resultsPublished += next.resultsPublished
            sum.filtered += next.filtered
            sum.deadLettered += next.deadLettered
        }
        for notice in receiver.deliveries {
            let body = String(decoding: notice.body, as: UTF8.self)
            print(
                "\nnotice to the webhook receiver (webhook-id \(notice.headers["webhook-id"] ?? "?"), signature \(notice.headers["webhook-signature"]?.prefix(12) ?? "none")…):\n\(body)")
        }
        print(
            "\npipelines: \(totals.received) records read, \(totals.resultsPublished) results, \(totals.filtered) filtered, "
                + "\(totals.deadLettered) dead-lettered")
        return Report(results: decoded, deadLetters: deadLetterRecords, notices: receiver.deliveries)
    }
}

extension OffboarderConfiguration {
    /// Whether the pipeline will go on with this event rather than filter it: a status that is
    /// not offboarded is filtered only when the status must hold (see `statusIsRequired`).
    func wouldProcess(_ event: CompanyStatusChangedEvent) -> Bool {
        !criteria.statusIsRequired || event.options.resolved(defaults: defaults).isOffboarded(status: event.status)
    }
}
