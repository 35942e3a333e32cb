import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingSandbox
import OffboardingService
import PSASimulators
import Synchronization

/// The service's own figures on its hot path: `psa-offboarder consume` as its own process, fed one
/// offboarding (20 ConnectWise configurations at 10 ms a request) every 250 ms, 60 of them; each
/// event's time from its send to its result read back, and the process's resident memory once the
/// 60 are done. Both sides fetch with `fetch.wait.max.ms=10`. `HOTPATH_BASELINE` names another
/// build of `psa-offboarder` to measure beside this one, in the same run.
func hotPathBenchmark() async throws {
    // `HOTPATH_OFFBOARDINGS` runs longer, to tell memory that grows with the work from memory that settles.
    let offboardings = ProcessInfo.processInfo.environment["HOTPATH_OFFBOARDINGS"].flatMap(Int.init).map { min(max($0, 1), 10_000) } ?? 60
    let configs = 20
    print("== hot path: `psa-offboarder consume`, one offboarding of \(configs) ConnectWise configurations every 250 ms at 10 ms a request, \(offboardings) of them; event to result, and the process's RSS after them")
    let current = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("psa-offboarder")
    var binaries = [("this build", current)]
    if let baseline = ProcessInfo.processInfo.environment["HOTPATH_BASELINE"] { binaries.insert(("baseline", URL(fileURLWithPath: baseline)), at: 0) }
    for (name, binary) in binaries {
        let figures = try await hotPath(binary: binary, offboardings: offboardings, configs: configs)
        let sorted = figures.latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)] * 1000 }
        print(
            "\(name): event to result p50 \(format(percentile(0.5))) ms, p90 \(format(percentile(0.9))) ms, p99 \(format(percentile(0.99))) ms; "
                + "RSS after the first offboarding \(figures.warm.text), after \(offboardings) more \(figures.steady.text)")
    }
}

private func hotPath(binary: URL, offboardings: Int, configs: Int) async throws -> (latencies: [Double], warm: Resident, steady: Resident) {
    let cluster = try KafkaTestCluster(brokers: 1, logger: logger)
    let topics = (events: "hot.events", results: "hot.results", deadLetter: "hot.dlq")
    for topic in [topics.events, topics.results, topics.deadLetter, OffboarderConfiguration.Topics.defaultRetry, OffboarderConfiguration.Topics.defaultApprovals] {
        try cluster.createTopic(topic, partitions: topic == topics.events ? 4 : 1)
    }
    let sandbox = try PSASandbox.make(.connectwise, dataset: .empty)
    // One more client than measured: the first offboarding warms the process up and is not counted.
    let clients = (0...offboardings).map { 500_001 + $0 }
    for id in clients { _ = await sandbox.tenant.addClient(id: id, name: "Hot Path \(id)", offboarded: true, active: configs, inactive: 0) }
    await sandbox.tenant.setLatency(.milliseconds(10))
    let server = try await SimulatorServer.start(router: sandbox.tenant.makeRouter(), logger: logger)
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("psa-offboarder-hotpath-\(UUID().uuidString).yaml")
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("psa-offboarder-hotpath-\(UUID().uuidString).log")
    try """
    security: {signing_keys: ["\(RecordSigner.randomKey())"]}
    kafka:
      bootstrap_servers: "\(cluster.bootstrapServers)"
      group_id: hotpath
      topics: {events: \(topics.events), results: \(topics.results), dead_letter: \(topics.deadLetter)}
      properties: {"fetch.wait.max.ms": "10"}
    \(sandbox.yaml(server.baseURL))
    criteria:
      offboarded_statuses: ["Inactive", "Offboarded"]
    """.write(to: file, atomically: true, encoding: .utf8)
    FileManager.default.createFile(atPath: log.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: file)
        try? FileManager.default.removeItem(at: log)
    }

    let sent = Mutex<[String: ContinuousClock.Instant]>([:])
    let arrived = Mutex<[String: ContinuousClock.Instant]>([:])
    let reader = try TopicReader(
        bootstrapServers: cluster.bootstrapServers, topic: topics.results, partitionCount: 1, groupID: "hotpath-results", start: .beginning,
        properties: ["fetch.wait.max.ms": "10"], logger: logger)
    reader.start { record in
        let now = ContinuousClock.now
        guard let id = record.headers.last(named: "offboarding.event.id")?.stringValue else { return }
        arrived.withLock { arrived in if arrived[id] == nil { arrived[id] = now } }
    }
    let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers, properties: ["linger.ms": "0"]), logger: logger)

    let process = Process()
    process.executableURL = binary
    process.arguments = ["consume", "--config", file.path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = try FileHandle(forWritingTo: log)
    try process.run()

    func send(_ client: Int) async throws -> String {
        let event = CompanyStatusChangedEvent(
            id: "hot-\(client)-\(UUID().uuidString)", source: "bench/hotpath", time: "2026-01-22T10:30:00Z", psa: .connectwise, companyID: String(client),
            companyName: "Hot Path \(client)", previousStatus: "Active", status: "Offboarded")
        let (headers, value) = CloudEventEncoder.structured(event)
        sent.withLock { $0[event.id] = .now }
        _ = try await producer.send(
            KafkaOutgoingRecord(topic: topics.events, key: event.companyID, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
        return event.id
    }
    func awaitResults(_ ids: [String], timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while arrived.withLock({ arrived in !ids.allSatisfy { arrived[$0] != nil } }) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                let tail = (try? String(contentsOf: log, encoding: .utf8))?.suffix(2000) ?? ""
                throw BenchmarkError("hot path: results missing after \(timeout) (service running: \(process.isRunning)): \(tail)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func measure() async throws -> (latencies: [Double], warm: Resident, steady: Resident) {
        let warmUp = try await send(clients[0])
        try await awaitResults([warmUp], timeout: .seconds(60))
        let warm = residentKB(of: process.processIdentifier)
        let start = ContinuousClock.now
        var ids: [String] = []
        for (index, client) in clients.dropFirst().enumerated() {
            try await Task.sleep(until: start + .milliseconds(250 * index), clock: .continuous)
            ids.append(try await send(client))
        }
        try await awaitResults(ids, timeout: .seconds(60))
        let steady = residentKB(of: process.processIdentifier)
        if ProcessInfo.processInfo.environment["HOTPATH_SMAPS"] != nil { printResidentMappings(of: process.processIdentifier) }
        let latencies = ids.map { id in (arrived.withLock { $0[id]! } - sent.withLock { $0[id]! }).seconds }
        return (latencies, warm, steady)
    }

    // Measured or not, everything started here is stopped once.
    let outcome: Result<(latencies: [Double], warm: Resident, steady: Resident), any Error>
    do { outcome = .success(try await measure()) } catch { outcome = .failure(error) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    await reader.stop()
    await producer.shutdown()
    await server.stop()
    withExtendedLifetime(cluster) {}
    return try outcome.get()
}

/// A process's resident memory in KiB: all of it, and the part that is not a file's (heap, stacks,
/// librdkafka's buffers); the rest is code and data mapped from the binary and its libraries.
struct Resident {
    var total = 0
    var anonymous = 0

    var text: String { "\(format2(Double(total) / 1024)) MB (\(format2(Double(anonymous) / 1024)) MB not from files)" }
}

private func residentKB(of pid: Int32) -> Resident {
    // Read to its end: procfs reports a size of 0, which a sized read takes at its word.
    guard let data = try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/status")).readToEnd() else { return Resident() }
    func field(_ name: String) -> Int {
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(name + ":") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
    }
    return Resident(total: field("VmRSS"), anonymous: field("RssAnon"))
}

/// Where a process's resident memory is, by mapping (the file, or the kind of anonymous memory),
/// largest first, and how many threads it runs.
private func printResidentMappings(of pid: Int32) {
    // Read to its end: procfs reports a size of 0, which a sized read takes at its word.
    guard let data = try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/smaps")).readToEnd() else { return }
    let smaps = String(decoding: data, as: UTF8.self)
    var byMapping: [String: Int] = [:]
    var current = "?"
    for line in smaps.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if let first = fields.first, first.contains("-"), !first.hasSuffix(":") {
            current = (fields.count >= 6 ? String(fields[5...].joined(separator: " ")) : "[anonymous]") + " " + fields[1]
        } else if fields.first == "Rss:", fields.count >= 2, let kb = Int(fields[1]) {
            byMapping[current, default: 0] += kb
        }
    }
    let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? 0
    print("  resident by mapping (\(threads) threads):")
    for (name, kb) in byMapping.sorted(by: { $0.value > $1.value }).prefix(20) { print("    \(format2(Double(kb) / 1024)) MB \(name)") }
}
