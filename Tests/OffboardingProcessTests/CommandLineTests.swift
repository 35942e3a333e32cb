import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingSandbox
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// The `psa-offboarder` binary as users run it.
@Suite(.timeLimit(.minutes(3)))
struct CommandLineTests {
    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try OffboarderProcess(arguments: arguments, environment: environment)
        let status = await process.waitForExit()
        return (status, process.stdout, process.stderr)
    }

    func configFile(_ yaml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(arguments: [
        (["run", "--config", "/nonexistent.yaml", "--client-id", "1"], "cannot read the configuration file"),
        (["run", "--config", "x.yaml"], "--client-id"),
        (["run", "--config", "x.yaml", "--client-id", "1", "--client-name", "A"], "exactly one"),
        (["consume"], "--config"),
        (["sandbox", "--psa", "servicenow"], "servicenow"),
        (["kafka-sandbox", "--topic", "a:zero"], "PARTITIONS"),
        (["frobnicate"], "frobnicate"),
    ])
    func badUsageExitsTwoWithAClearLine(arguments: [String], expected: String) async throws {
        let (status, _, stderr) = try await run(arguments)
        #expect(status == 2)
        #expect(stderr.contains(expected), "stderr: \(stderr)")
        #expect(!stderr.contains("Fatal error") && !stderr.contains("Stack"))
    }

    @Test func badConfigurationFileExitsTwoWithOneLineNamingTheKey() async throws {
        let yaml = ContractExample.signed.replacingOccurrences(of: "group_id: psa-offboarder", with: "group_id: psa-offboarder\n  grup_id: typo")
        let (status, stdout, stderr) = try await run(["consume", "--config", try configFile(yaml)], environment: ContractExample.environment)
        #expect(status == 2)
        #expect(stdout.isEmpty)
        #expect(stderr == "psa-offboarder: kafka.grup_id: is not a known key\n")
    }

    /// `kafka.properties` reaches librdkafka (for the consumer and the producer alike): one it
    /// refuses stops `consume` at start with one line naming it, before anything is read.
    @Test func aKafkaPropertyLibrdkafkaRefusesStopsTheServiceNamingIt() async throws {
        let yaml = ContractExample.signed.replacingOccurrences(of: "properties: {}", with: #"properties: {"session.timeout.ms": "soon"}"#)
        #expect(yaml.contains("session.timeout.ms"))
        let (status, stdout, stderr) = try await run(["consume", "--config", try configFile(yaml)], environment: ContractExample.environment)
        #expect(status == 1 && stdout.isEmpty)
        #expect(stderr.contains("property session.timeout.ms: "), "\(stderr)")
    }

    @Test func secretsNeverAppearInOutput() async throws {
        let yaml = ContractExample.signed.replacingOccurrences(of: "kind: connectwise", with: "kind: autotask")
        let (status, stdout, stderr) = try await run(["consume", "--config", try configFile(yaml)], environment: ContractExample.environment)
        #expect(status == 2)
        for secret in ContractExample.environment.values { #expect(!stdout.contains(secret) && !stderr.contains(secret)) }
    }

    @Test func helpIsCompleteWithAnExample() async throws {
        for command in ["consume", "run", "sweep", "restore", "demo", "sandbox", "kafka-sandbox"] {
            let (status, stdout, _) = try await run([command, "--help"])
            #expect(status == 0)
            #expect(stdout.contains("Example:") && stdout.contains("psa-offboarder \(command)"), "\(command) --help")
        }
    }

    /// The README's promise: `kafka-sandbox` prints the bootstrap servers as its first stdout line,
    /// a real client can use the topics it made there, and SIGTERM stops it with exit 0.
    @Test func kafkaSandboxPrintsItsBootstrapServersFirstAndServesThem() async throws {
        let sandbox = try OffboarderProcess(arguments: ["kafka-sandbox", "--topic", "sandbox.t:3"])
        try await sandbox.waitForStdout(timeout: .seconds(30), "the first line") { $0.contains("\n") }
        let first = try #require(sandbox.stdout.split(separator: "\n").first.map(String.init))
        #expect(first.split(separator: ",").allSatisfy { $0.hasPrefix("127.0.0.1:") || $0.hasPrefix("localhost:") }, "\(first)")
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: first), logger: .test())
        #expect(try await producer.partitionCount(of: "sandbox.t") == 3)
        try await producer.send(KafkaOutgoingRecord(topic: "sandbox.t", key: "k", value: Array("v".utf8), headers: []))
        await producer.shutdown()
        let read = try TopicCollector(
            bootstrapServers: first, partitions: (0..<3).map { KafkaTopicPartition(topic: "sandbox.t", partition: $0) }, logger: .test())
        let records = try await read.wait(timeout: .seconds(30), for: "the record sent") { !$0.isEmpty }
        #expect(records.first?.value == Array("v".utf8))
        await read.stop()
        sandbox.signal(SIGTERM)
        #expect(await sandbox.waitForExit() == 0, "\(sandbox.stderr)")
    }

    @Test func runPrintsTheResultAndExitsByItsSuccess() async throws {
        let logger = Logger.test()
        let kafka = try KafkaFixture(partitions: .init(results: 1), logger: logger)
        let simulator = ConnectWiseSimulator(data: .sample())
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: logger)
        var configuration = ConfigurationYAML(
            bootstrapServers: kafka.bootstrapServers, groupID: "cli", topics: .init(events: "e", results: kafka.topics.results, deadLetter: "d"),
            psa: ConfigurationYAML.connectWiseFromEnvironment(serverURL: server.baseURL))
        configuration.offboardedStatuses = nil
        let file = try configuration.write()
        let environment = ConfigurationYAML.connectWiseEnvironment
        let published = try kafka.collector(of: kafka.topics.results)

        let dry = try await run(["run", "--config", file, "--client-name", "Northwind Traders", "--dry-run", "--reason", "Preview"], environment: environment)
        #expect(dry.status == 0, "stderr: \(dry.stderr)")
        let dryResult = try ValidatedResult.decode(Array(dry.stdout.utf8))
        #expect(dryResult.trigger == .manual && dryResult.dryRun && dryResult.clientID == "23456" && dryResult.reason == "Preview")
        #expect(dryResult.configs.count == 7 && dryResult.configs.allSatisfy { $0.action == .wouldDeactivate })
        #expect(try JSONSchemaValidator(schemaFile: "result.schema.json").problems(in: Array(dry.stdout.utf8)) == [])

        let missing = try await run(["run", "--config", file, "--client-id", "31337"], environment: environment)
        #expect(missing.status == 1)
        #expect(try ValidatedResult.decode(Array(missing.stdout.utf8)).errors.map(\.code) == [.clientNotFound])

        // Refused by the PSA: a private key it does not know, at trace level, exit 1.
        var wrongKey = environment
        wrongKey["CW_PRIVATE_KEY"] = "not-the-sandbox-private-key"
        wrongKey["LOG_LEVEL"] = "trace"
        let refused = try await run(["run", "--config", file, "--client-id", "23456"], environment: wrongKey)
        #expect(refused.status == 1)
        #expect(try ValidatedResult.decode(Array(refused.stdout.utf8)).errors.map(\.message).contains { $0.contains("rejected the credentials") }, "\(refused.stdout)")
        // No key, from either run, in anything printed: at success, at a failure result, at a refusal.
        for (outcome, keys) in [(dry, environment), (missing, environment), (refused, wrongKey)] {
            for key in ["CW_PUBLIC_KEY", "CW_PRIVATE_KEY"] {
                let secret = try #require(keys[key])
                #expect(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret), "\(key) printed")
            }
        }

        // Both results also went to the results topic for billing and alerting.
        try await published.wait(timeout: .seconds(30), for: "2 published results") { $0.count >= 2 }
        await published.stop()
        await server.stop()
    }

    /// At a terminal `run` prints a summary and a table, with progress on stderr; `--output json`
    /// there, or a pipe without asking, gives the result JSON; `--output table` gives the table anywhere.
    @Test func runAtATerminalPrintsATableOfTheConfigurations() async throws {
        let kafka = try KafkaFixture(partitions: .init(results: 1, approvals: 1))
        let (_, server, file, environment) = try await manualRunSetUp(bootstrapServers: kafka.bootstrapServers)
        let arguments = ["run", "--config", file, "--client-name", "Northwind Traders", "--dry-run"]

        let atTerminal = try OffboarderProcess(arguments: arguments, environment: environment, terminal: true)
        #expect(await atTerminal.waitForExit() == 0, "\(atTerminal.stdout)")
        let screen = atTerminal.stdout.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(!screen.contains("\"config_id\""), "no JSON at a terminal: \(screen)")
        #expect(screen.contains("Offboarding of Northwind Traders (23456) on connectwise succeeded (dry run: nothing changed)"), "\(screen)")
        #expect(screen.contains("found 7 · deactivated 0 · skipped 0"), "\(screen)")
        let header = try #require(screen.split(separator: "\n").first { $0.hasPrefix("ID ") }, "a table header in \(screen)")
        #expect(header.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") == "ID NAME TYPE PREVIOUS STATUS ACTION")
        let rows = screen.split(separator: "\n").filter { $0.hasSuffix("would_deactivate") }
        #expect(rows.count == 7, "\(screen)")
        #expect(rows.allSatisfy { $0.contains("Active") }, "the PSA's status name as the previous status: \(rows)")
        #expect(screen.contains("reading the PSA: "), "progress on the terminal's stderr: \(screen)")

        let jsonAtTerminal = try OffboarderProcess(arguments: arguments + ["--output", "json"], environment: environment, terminal: true)
        #expect(await jsonAtTerminal.waitForExit() == 0)
        let json = jsonAtTerminal.stdout.replacingOccurrences(of: "\r\n", with: "\n")
        let start = try #require(json.firstIndex(of: "{"))
        #expect(try ValidatedResult.decode(Array(json[start...].utf8)).configs.count == 7)

        let tableInPipe = try await run(arguments + ["--output", "table"], environment: environment)
        #expect(tableInPipe.status == 0 && tableInPipe.stdout.contains("PREVIOUS STATUS") && !tableInPipe.stdout.contains("{"), "\(tableInPipe.stdout)")
        #expect(!tableInPipe.stderr.contains("reading the PSA"), "no progress when stderr is not a terminal")
        await server.stop()
    }

    @Test func versionNamesTheProductAndLibrdkafka() async throws {
        let (status, stdout, _) = try await run(["--version"])
        #expect(status == 0)
        #expect(stdout.range(of: #"^psa-offboarder \d+\.\d+\.\d+ \(librdkafka \d+\.\d+\.\d+\)\n$"#, options: .regularExpression) != nil, "\(stdout)")
    }

    /// A ConnectWise sandbox and a configuration file for `run` against `bootstrapServers`.
    func manualRunSetUp(bootstrapServers: String) async throws -> (ConnectWiseSimulator, SimulatorServer, String, [String: String]) {
        let simulator = ConnectWiseSimulator(data: .sample())
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        var configuration = ConfigurationYAML(
            bootstrapServers: bootstrapServers, groupID: "cli",
            topics: .init(events: "e", results: PipelineHarness.topics.results, deadLetter: "d", approvals: PipelineHarness.topics.approvals),
            psa: ConfigurationYAML.connectWiseFromEnvironment(serverURL: server.baseURL), kafkaProperties: ["socket.connection.setup.timeout.ms": "2000"])
        configuration.namesRetryAndApprovalsTopics = true
        configuration.offboardedStatuses = nil
        return (simulator, server, try configuration.write(), ConfigurationYAML.connectWiseEnvironment)
    }

    @Test func runWithRequireApprovalKeepsTheApprovalOnTheApprovalsTopic() async throws {
        let logger = Logger.test()
        let kafka = try KafkaFixture(partitions: .init(results: 1, approvals: 1), logger: logger)
        let (simulator, server, file, environment) = try await manualRunSetUp(bootstrapServers: kafka.bootstrapServers)
        let approvals = try kafka.collector(of: kafka.topics.approvals)
        let pending = try await run(["run", "--config", file, "--client-name", "Northwind Traders", "--require-approval"], environment: environment)
        #expect(pending.status == 0, "stderr: \(pending.stderr)")
        let result = try ValidatedResult.decode(Array(pending.stdout.utf8))
        let approvalID = try #require(result.approval?.id)
        #expect(result.configs.allSatisfy { $0.action == .pendingApproval })
        // The approval the result points to exists, where the service reads approvals from.
        let records = try await approvals.wait(timeout: .seconds(30), for: "the approval") { $0.contains { $0.keyString == approvalID } }
        let record = try #require(records.first { $0.keyString == approvalID })
        guard case .record(let approval) = try ApprovalMessage.decode(record.value) else {
            Issue.record("not an approval record")
            return
        }
        #expect(approval.state == .pending && approval.configs.count == result.configs.count && approval.eventID == result.eventID)
        #expect(await simulator.deactivationWrites(forClient: 23456) == 0)
        await approvals.stop()
        await server.stop()
    }

    @Test func runFailsFastWithoutKafkaAndWritesNothing() async throws {
        // Nothing listens on port 1 of loopback.
        let (simulator, server, file, environment) = try await manualRunSetUp(bootstrapServers: "127.0.0.1:1")
        let started = ContinuousClock.now
        let failed = try await run(["run", "--config", file, "--client-name", "Northwind Traders"], environment: environment)
        #expect(failed.status == 1)
        #expect(failed.stdout.isEmpty)
        #expect(failed.stderr.contains("Kafka at 127.0.0.1:1 did not answer") && failed.stderr.contains("nothing was written"), "\(failed.stderr)")
        #expect(await simulator.deactivationWrites(forClient: 23456) == 0)
        #expect(await simulator.requestCount == 0, "the PSA was not even asked")
        #expect(ContinuousClock.now - started < .seconds(60))
        await server.stop()
    }

    @Test func demoPrintsResultsForEveryPSAAndExitsZero() async throws {
        let (status, stdout, stderr) = try await run(["demo"])
        #expect(status == 0, "stderr: \(stderr)")
        for event in ["cw-1", "cw-2", "cw-4", "cw-5", "at-1", "at-2", "halo-1", "halo-2"] {
            #expect(stdout.contains("result for event \(event) "), "\(event)")
        }
        #expect(!stdout.contains("result for event cw-3"), "the Active status is filtered")
        // Each case does what the demo says of it: no request widens the criteria, and Tailspin
        // Toys is a dry run offboarded by its company type, which the deployment counts.
        #expect(!stdout.contains("CriteriaOverrideRefused"), "a sample request widened the criteria")
        let tailspin = stdout.components(separatedBy: "result for event at-2 ").dropFirst().first?.components(separatedBy: "\nresult for event").first ?? ""
        #expect(tailspin.contains(#""dry_run" : true"#) && tailspin.contains(#""company_types""#) && tailspin.contains(#""success" : true"#), "\(tailspin)")
        for deactivated in [18, 12, 9] { #expect(stdout.contains("\"configs_deactivated\" : \(deactivated),")) }
        #expect(stdout.contains("InvalidEvent: value is not JSON"))
        #expect(stdout.contains("8 results, 1 filtered, 1 dead-lettered"))
        // The local webhook receiver is told of the dead letter, signed.
        #expect(stdout.contains("notice to the webhook receiver (webhook-id msg_"))
        #expect(stdout.contains(#""title":"Dead-lettered: InvalidEvent (key 12345)""#) && stdout.contains(#""type":"dead_lettered""#))
    }

    /// At a terminal the demo shows each result as `run` does, a summary and a table, not the
    /// records' JSON (`--output json` there, or a pipe as above, gives the JSON).
    @Test func demoAtATerminalShowsEachResultAsASummaryAndATable() async throws {
        let demo = try OffboarderProcess(arguments: ["demo"], terminal: true)
        #expect(await demo.waitForExit(timeout: .seconds(150)) == 0, "\(demo.stdout.suffix(2000))")
        let screen = demo.stdout.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(!screen.contains("\"config_id\""), "no result JSON at a terminal")
        for event in ["cw-1", "cw-2", "cw-4", "cw-5", "at-1", "at-2", "halo-1", "halo-2"] {
            #expect(screen.contains("result for event \(event) "), "\(event)")
        }
        #expect(screen.contains("Offboarding of Tailspin Toys") && screen.contains("(dry run: nothing changed)"), "\(screen)")
        for deactivated in [18, 12, 9] { #expect(screen.contains("deactivated \(deactivated) ·"), "\(deactivated)") }
        // A table for each of the five results that listed configurations: the two stale events
        // (cw-4, halo-2) and the unknown client (cw-5) list none.
        #expect(screen.split(separator: "\n").filter { $0.hasPrefix("ID ") && $0.contains("PREVIOUS STATUS") }.count == 5)
        #expect(screen.contains("Offboarding of Contoso Dental (34567) on connectwise succeeded") && screen.contains("ClientNotFound"), "\(screen)")
        #expect(screen.contains("8 results, 1 filtered, 1 dead-lettered"))
    }

    @Test(arguments: ["connectwise", "autotask", "halopsa"])
    func sandboxPrintsItsConfigurationAndStopsOnSIGTERM(psa: String) async throws {
        let process = try OffboarderProcess(arguments: ["sandbox", "--psa", psa])
        try await process.waitForStdout(timeout: .seconds(30), "the sandbox's configuration") { $0.contains("kind: \(psa)") && $0.contains("http://127.0.0.1:") }
        process.signal(SIGTERM)
        #expect(await process.waitForExit() == 0)
    }
}
