import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import PSAConnectWise
import PSASimulators

/// `psa-offboarder demo`: an in-process Kafka test cluster and a ConnectWise sandbox with sample
/// data, the real consumer pipeline over a handful of sample events, each result printed.
public enum Demo {
    public struct Report: Sendable {
        public var results: [OffboardingResult]
        public var deadLetters: [KafkaRecord]
    }

    public static func run(logger: Logger, print: @Sendable (String) -> Void) async throws -> Report {
        let cluster = try KafkaTestCluster(brokers: 1, logger: logger)
        let topics = OffboarderConfiguration.Topics(
            events: "psa.company.status-changed", results: "psa.offboarding.results", deadLetter: "psa.offboarding.dlq")
        try cluster.createTopic(topics.events, partitions: 4)
        try cluster.createTopic(topics.results, partitions: 1)
        try cluster.createTopic(topics.deadLetter, partitions: 1)

        let simulator = ConnectWiseSimulator(data: .sample())
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: logger)
        let credentials = ConnectWiseSimulator.Credentials.sandbox
        let configuration = OffboarderConfiguration(
            kafka: .init(bootstrapServers: cluster.bootstrapServers, groupID: "psa-offboarder-demo", topics: topics),
            psa: .connectwise(
                .init(
                    baseURL: server.baseURL + ConnectWiseSimulator.apiPath, companyID: credentials.companyID,
                    publicKey: credentials.publicKey, privateKey: credentials.privateKey, clientID: credentials.clientID)),
            defaults: OffboardingOptions(offboardedStatuses: ["Inactive", "Offboarded"]))
        print("Kafka test cluster at \(cluster.bootstrapServers); ConnectWise sandbox at \(server.baseURL + ConnectWiseSimulator.apiPath)")

        let source = "psa/connectwise/acme"
        let events: [(CompanyStatusChangedEvent, binary: Bool, what: String)] = [
            (.init(id: "demo-1", source: source, psa: .connectwise, companyID: "12345", companyName: "Example Client",
                   previousStatus: "Active", status: "Offboarded",
                   options: .init(includeArchived: true, reason: "Contract ended")), false, "offboard Example Client (archived configs listed too)"),
            (.init(id: "demo-2", source: source, psa: .connectwise, companyID: "23456", companyName: "Northwind Traders",
                   previousStatus: "Active", status: "Offboarded", options: .init(dryRun: true, reason: "Preview before the contract ends")),
             true, "dry run for Northwind Traders (binary-mode event)"),
            (.init(id: "demo-3", source: source, psa: .connectwise, companyID: "34567", companyName: "Contoso Dental",
                   previousStatus: "Prospect", status: "Active"), false, "Contoso Dental became Active: filtered, no result"),
            (.init(id: "demo-4", source: source, psa: .connectwise, companyID: "34567", companyName: "Contoso Dental",
                   previousStatus: "Active", status: "Offboarded"), false, "stale event: Contoso Dental is Active again in the PSA"),
            (.init(id: "demo-5", source: source, psa: .connectwise, companyID: "99999", status: "Offboarded"), false,
             "unknown client 99999"),
        ]
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        for (event, binary, what) in events {
            let (headers, value) = binary ? CloudEventEncoder.binary(event) : CloudEventEncoder.structured(event)
            try await producer.send(
                KafkaOutgoingRecord(
                    topic: topics.events, key: event.companyID, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
            print("sent event \(event.id): \(what)")
        }
        try await producer.send(KafkaOutgoingRecord(topic: topics.events, key: "12345", value: Array("{not json".utf8)))
        print("sent a record that is not JSON: dead-lettered")
        await producer.shutdown()

        let results = try TopicCollector(
            bootstrapServers: cluster.bootstrapServers, partitions: [.init(topic: topics.results, partition: 0)], logger: logger)
        let deadLetters = try TopicCollector(
            bootstrapServers: cluster.bootstrapServers, partitions: [.init(topic: topics.deadLetter, partition: 0)], logger: logger)
        let runtime = try OffboarderRuntime(configuration: configuration, logger: logger, signals: [])
        let running = Task { try await runtime.run() }
        print("consumer pipeline started (the test cluster's first group join takes about 3 s)")
        let expectedResults = 4
        let resultRecords = try await results.wait(timeout: .seconds(60), for: "\(expectedResults) results") { $0.count >= expectedResults }
        let deadLetterRecords = try await deadLetters.wait(timeout: .seconds(30), for: "1 dead letter") { $0.count >= 1 }
        await runtime.triggerGracefulShutdown()
        try await running.value
        await results.stop()
        await deadLetters.stop()
        await server.stop()

        var decoded: [OffboardingResult] = []
        for record in resultRecords {
            let result = try ResultEncoding.decode(record.value ?? [])
            decoded.append(result)
            let pretty = String(decoding: try ResultEncoding.encode(result, pretty: true), as: UTF8.self)
            print("\nresult for event \(result.eventID) (client \(result.clientID)):\n\(pretty)")
        }
        for record in deadLetterRecords {
            let reason = record.headers.last(named: "dlq.reason")?.stringValue ?? "?"
            let code = record.headers.last(named: "dlq.error.code")?.stringValue ?? "?"
            print("\ndead letter from \(record.headers.last(named: "dlq.source.topic")?.stringValue ?? "?") offset "
                + "\(record.headers.last(named: "dlq.source.offset")?.stringValue ?? "?"): \(code): \(reason)")
        }
        let statistics = runtime.pipeline.statistics.snapshot
        print(
            "\npipeline: \(statistics.received) records read, \(statistics.resultsPublished) results, \(statistics.filtered) filtered, "
                + "\(statistics.deadLettered) dead-lettered")
        return Report(results: decoded, deadLetters: deadLetterRecords)
    }
}
