import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingSandbox
import OffboardingService
import PSASimulators

/// The filter path (events decoded, found not to be offboardings, offsets stored) beside `kcat -C -e`
/// reading the same topics from the same mock broker, at the margin.
func filterPathBenchmark(eventCount: Int, partitionCount: Int) async throws {

    // Both sides are timed whole, on a small and a large topic: the difference in time for the
    // difference in records cancels start-up and the group join (kcat spends most of a small run
    // connecting), leaving the marginal rate.
    let smallCount = 1_000
    // The mock keeps at most 100,000 records or 5 MiB a partition (reference/kafka.md §5.8): 16
    // partitions hold 120,000 events of about 350 bytes, 48 hold 480,000.
    let partitions = Int32(partitionCount)
    print("== filter path: events that are not offboardings, \(smallCount) and \(eventCount) records, \(partitions) partitions, librdkafka \(RDKafkaVersion.string) mock cluster; rates at the margin")
    let cluster = try KafkaTestCluster(brokers: 1, logger: logger)
    let smallTopic = "bench.small.company.status-changed"
    let largeTopic = "bench.large.company.status-changed"
    try cluster.createTopic(smallTopic, partitions: partitions)
    try cluster.createTopic(largeTopic, partitions: partitions)
    // The reading sides fetch as the service does; the mock answers a waiting fetch only at
    // fetch.wait.max.ms, which a drained partition would otherwise add to the end of each run.
    let fetchProperties = ["fetch.wait.max.ms": "10"]

    func produce(_ count: Int, to topic: String) async throws {
        let producer = try KafkaProducer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers, properties: ["linger.ms": "20", "batch.num.messages": "10000"]),
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let chunk = 5_000
            for start in stride(from: 0, to: count, by: chunk) {
                for index in start..<min(start + chunk, count) {
                    let event = CompanyStatusChangedEvent(
                        id: "bench-\(index)", source: "bench", time: "2026-01-22T10:30:00Z", psa: .connectwise, companyID: String(index % 5_000),
                        companyName: "Client \(index % 5_000)", previousStatus: "Prospect", status: "Active")
                    let (headers, value) = CloudEventEncoder.structured(event)
                    group.addTask {
                        try await producer.send(
                            KafkaOutgoingRecord(
                                topic: topic, key: event.companyID, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
                    }
                }
                try await group.waitForAll()
            }
        }
        await producer.shutdown()
    }

    let produceStart = ContinuousClock.now
    try await produce(smallCount, to: smallTopic)
    try await produce(eventCount, to: largeTopic)
    print("produced in \(String(format: "%.2f", (ContinuousClock.now - produceStart).seconds)) s")

    /// `kcat -C -e` on the topic, start to exit.
    func kcatTime(_ topic: String, expecting count: Int) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
        process.arguments = ["-C", "-b", cluster.bootstrapServers, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "x", "-X", "fetch.wait.max.ms=10"]
        let pipe = Pipe()
        process.standardOutput = pipe
        let start = ContinuousClock.now
        try process.run()
        var bytes = 0
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            bytes += chunk.count
        }
        process.waitUntilExit()
        let elapsed = (ContinuousClock.now - start).seconds
        guard bytes == count else { throw SimulatorError("kcat read \(bytes) of \(count) records") }
        return elapsed
    }

    /// The consumer pipeline on the topic, from its start until every event is filtered.
    func pipelineTime(_ topic: String, expecting count: Int, group: String) async throws -> Double {
        // A PSA that answers: before its first poll the pipeline reads the company statuses the PSA
        // flags inactive, and without them no event could be filtered by its status alone.
        let sandbox = try PSASandbox.make(.connectwise, dataset: .empty)
        let server = try await SimulatorServer.start(router: sandbox.tenant.makeRouter(), logger: logger)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let psa = OffboarderRuntime.makePSAClient(sandbox.configuration(server.baseURL), httpClient: httpClient, logger: logger)
        let benchProducer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let configuration = OffboardingPipeline.Configuration(
            consumer: .init(bootstrapServers: cluster.bootstrapServers, groupID: group, topics: [topic], properties: fetchProperties),
            topics: .init(events: topic, results: "bench.results", deadLetter: "bench.dlq"), psa: .connectwise,
            defaults: OffboardingOptions(offboardedStatuses: ["Offboarded"]), signer: RecordSigner(keys: [Array(RecordSigner.randomKey().utf8)]))
        let pipeline = try OffboardingPipeline(configuration: configuration, producer: benchProducer, offboarder: Offboarder(psa: psa, logger: logger), logger: logger)
        let start = ContinuousClock.now
        let running = Task { try await pipeline.run() }
        // Looked at every millisecond; the granularity is small beside the runs compared.
        while pipeline.statistics.snapshot.filtered < count {
            try await Task.sleep(for: .milliseconds(1))
        }
        let elapsed = (ContinuousClock.now - start).seconds
        pipeline.stop()
        try await running.value
        await benchProducer.shutdown()
        try await httpClient.shutdown()
        await server.stop()
        return elapsed
    }


    var ratios: [Double] = []
    let extra = Double(eventCount - smallCount)
    for round in 1...3 {
        // kcat's whole run is short beside its start-up: the median of five runs of each.
        let kcatLarge = median(try (1...5).map { _ in try kcatTime(largeTopic, expecting: eventCount) })
        let kcatSmall = median(try (1...5).map { _ in try kcatTime(smallTopic, expecting: smallCount) })
        let kcat = extra / (kcatLarge - kcatSmall)
        let large = try await pipelineTime(largeTopic, expecting: eventCount, group: "bench-large-\(round)")
        let small = try await pipelineTime(smallTopic, expecting: smallCount, group: "bench-small-\(round)")
        let filter = extra / (large - small)
        ratios.append(filter / kcat)
        print("round \(round): kcat -C -e \(format(kcat)) records/s | pipeline decode+filter+offset store \(format(filter)) events/s | ratio \(String(format: "%.2f", filter / kcat))")
    }
    print("median ratio pipeline/kcat at the margin: \(String(format: "%.2f", ratios.sorted()[1]))")
    withExtendedLifetime(cluster) {}
}
