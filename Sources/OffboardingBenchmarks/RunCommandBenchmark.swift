import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingSandbox
import OffboardingService
import PSASimulators

/// The whole `psa-offboarder run` command (process start to exit: configuration, Kafka check,
/// listing, writes, read-back, result published) on a ConnectWise client at 20 ms latency, beside a
/// sequential script doing the same writes, and the bound's effect.
func runCommandBenchmark(configCount: Int) async throws {
    print("== `psa-offboarder run` on \(configCount) ConnectWise configurations, 20 ms simulated latency, beside a sequential script (scripts/sequential-offboard.py)")
    let cluster = try KafkaTestCluster(brokers: 1, logger: logger)
    let topics = (events: "bench.events", results: "bench.results", deadLetter: "bench.dlq")
    for topic in [topics.events, topics.results, topics.deadLetter] { try cluster.createTopic(topic, partitions: 1) }
    let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("psa-offboarder")
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/sequential-offboard.py").standardized

    /// A fresh tenant for each run, so that every run writes every configuration.
    func withTenant<T>(_ body: (String, PSASandbox.Instance) async throws -> T) async throws -> T {
        let sandbox = try PSASandbox.make(.connectwise, dataset: .empty)
        _ = await sandbox.tenant.addClient(id: 300_001, name: "Bench Client", offboarded: true, active: configCount, inactive: 0)
        await sandbox.tenant.setLatency(.milliseconds(20))
        let server = try await SimulatorServer.start(router: sandbox.tenant.makeRouter(), logger: logger)
        do {
            let value = try await body(server.baseURL, sandbox)
            guard await sandbox.tenant.deactivationWrites(forClient: 300_001) == configCount else { throw BenchmarkError("not every configuration was written") }
            await server.stop()
            return value
        } catch {
            await server.stop()
            throw error
        }
    }

    func timed(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> Double {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        let start = ContinuousClock.now
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let elapsed = (ContinuousClock.now - start).seconds
        guard process.terminationStatus == 0 else {
            throw BenchmarkError("\(executable.lastPathComponent) exited \(process.terminationStatus): \(String(decoding: stderr.suffix(2000), as: UTF8.self))")
        }
        return elapsed
    }

    func run(bound: Int, adaptive: Bool = true) async throws -> Double {
        try await withTenant { url, sandbox in
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("psa-offboarder-bench-\(UUID().uuidString).yaml")
            let yaml = """
                security: {signing_keys: ["\(RecordSigner.randomKey())"]}
                kafka:
                  bootstrap_servers: "\(cluster.bootstrapServers)"
                  group_id: bench
                  topics: {events: \(topics.events), results: \(topics.results), dead_letter: \(topics.deadLetter)}
                \(sandbox.yaml(url))
                criteria:
                  offboarded_statuses: ["Inactive", "Offboarded"]
                rate_limit:
                  max_concurrent_updates: \(bound)
                  adaptive: \(adaptive)
                """
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            return try timed(binary, ["run", "--config", file.path, "--client-id", "300001", "--reason", "benchmark"])
        }
    }

    func sequential() async throws -> Double {
        try await withTenant { url, _ in
            let credentials = ConnectWiseSimulator.Credentials.sandbox
            return try timed(
                URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, "300001"],
                environment: [
                    "CW_BASE_URL": url + ConnectWiseSimulator.apiPath, "CW_COMPANY": credentials.companyID, "CW_PUBLIC_KEY": credentials.publicKey,
                    "CW_PRIVATE_KEY": credentials.privateKey, "CW_CLIENT_ID": credentials.clientID,
                ])
        }
    }

    let script1 = try await sequential()
    print("sequential script: \(format2(script1)) s (nominal \(configCount) x 20 ms = \(format2(Double(configCount) * 0.02)) s)")
    var ratios: [Double] = []
    for round in 1...3 {
        let script = try await sequential()
        let bound8 = try await run(bound: 8)
        ratios.append(script / bound8)
        print("round \(round): sequential script \(format2(script)) s | run, bound 8 (default): \(format2(bound8)) s | \(String(format: "%.1f", script / bound8))x")
    }
    print("median: run at bound 8 is \(String(format: "%.1f", median(ratios)))x the sequential script")
    // The pacer's start-up ramp, which keeps the first 429s of an unknown limit few, costs this much here.
    let unpaced = try await run(bound: 8, adaptive: false)
    print("run, bound 8, rate_limit.adaptive false: \(format2(unpaced)) s, \(String(format: "%.1f", script1 / unpaced))x the first sequential run")
    for bound in [1, 32] {
        let elapsed = try await run(bound: bound)
        print("run, bound \(bound): \(format2(elapsed)) s, \(String(format: "%.1f", script1 / elapsed))x the first sequential run")
    }
    withExtendedLifetime(cluster) {}
}
