import Foundation
import OffboardingCore
import OffboardingKafkaTesting
import OffboardingTestSupport
import PSASimulators
import Testing

/// What the README promises of `run` beyond its result: narrowing the criteria from the command
/// line, a table no PSA text can take over, and exit 1 when the result could not be published.
@Suite(.timeLimit(.minutes(3)))
struct RunCommandPromisesTests {
    /// A ConnectWise sandbox (Northwind Traders, 23456, offboarded, 7 active configurations) and a
    /// configuration file for `run` with criteria `Inactive` and `Offboarded`.
    func setUp(kafka: KafkaFixture, kafkaProperties: KeyValuePairs<String, String> = [:]) async throws -> (ConnectWiseSimulator, SimulatorServer, String) {
        let simulator = ConnectWiseSimulator(data: .sample())
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        var configuration = ConfigurationYAML(
            bootstrapServers: kafka.bootstrapServers, groupID: "cli",
            topics: .init(events: "e", results: PipelineHarness.topics.results, deadLetter: "d", approvals: PipelineHarness.topics.approvals),
            psa: ConfigurationYAML.connectWiseFromEnvironment(serverURL: server.baseURL), kafkaProperties: kafkaProperties)
        configuration.namesRetryAndApprovalsTopics = true
        configuration.offboardedStatuses = ["Inactive", "Offboarded"]
        return (simulator, server, try configuration.write())
    }

    func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try OffboarderProcess(arguments: arguments, environment: ConfigurationYAML.connectWiseEnvironment)
        let status = await process.waitForExit()
        return (status, process.stdout, process.stderr)
    }

    @Test func offboardedStatusNarrowsTheCriteriaAndCannotWidenThem() async throws {
        let kafka = try KafkaFixture(partitions: .init(results: 1, approvals: 1))
        let (simulator, server, file) = try await setUp(kafka: kafka)
        // Northwind's status is Offboarded: narrowed to Inactive, it is not offboarded, and nothing changes.
        let narrowed = try await run(["run", "--config", file, "--client-id", "23456", "--offboarded-status", "Inactive"])
        let narrowedResult = try ValidatedResult.decode(Array(narrowed.stdout.utf8))
        #expect(narrowedResult.statistics.configsDeactivated == 0 && narrowedResult.warnings.map(\.code) == [.clientNotOffboarded], "\(narrowed.stdout)")
        #expect(await simulator.deactivationWrites(forClient: 23456) == 0)
        // A status beyond the configured ones is refused (criteria.allow_request_override is off).
        let widened = try await run(["run", "--config", file, "--client-id", "23456", "--offboarded-status", "Offboarded", "--offboarded-status", "Churned"])
        #expect(widened.status == 1)
        #expect(try ValidatedResult.decode(Array(widened.stdout.utf8)).errors.map(\.code) == [.criteriaOverrideRefused], "\(widened.stdout)")
        #expect(await simulator.deactivationWrites(forClient: 23456) == 0)
        // Within the configured ones it runs.
        let within = try await run(["run", "--config", file, "--client-id", "23456", "--offboarded-status", "Offboarded"])
        #expect(within.status == 0, "\(within.stderr)")
        #expect(try ValidatedResult.decode(Array(within.stdout.utf8)).statistics.configsDeactivated == 7)
        await server.stop()
    }

    @Test func aTableShowsNoControlCharacterFromThePSA() async throws {
        let kafka = try KafkaFixture(partitions: .init(results: 1, approvals: 1))
        let (simulator, server, file) = try await setUp(kafka: kafka)
        // A name that would clear the screen and retitle the window, a type with an 8-bit CSI, a bidi override.
        await simulator.add(
            company: nil,
            configurations: [.init(id: 23456_900, name: "Evil\u{1B}[2J\u{1B}]0;owned\u{07}Box", companyID: 23456, statusID: 1, typeName: "Type\u{9B}31m\u{202E}x")])
        let table = try await run(["run", "--config", file, "--client-id", "23456", "--dry-run", "--output", "table"])
        #expect(table.status == 0, "\(table.stderr)")
        let controls = table.stdout.unicodeScalars.filter { $0 != "\n" && [.control, .format].contains($0.properties.generalCategory) }
        #expect(controls.isEmpty, "control characters reached the terminal: \(controls.map { String($0.value, radix: 16) })")
        #expect(table.stdout.contains("Evil?[2J?]0;owned?Box") && table.stdout.contains("Type?31m?x"), "\(table.stdout)")
        await server.stop()
    }

    @Test func aResultThatCannotBePublishedIsStillPrintedAndExitsOne() async throws {
        // The producer refuses records over 1,000 bytes, as a broker refuses an oversized result.
        let kafka = try KafkaFixture(partitions: .init(results: 1, approvals: 1))
        let (simulator, server, file) = try await setUp(kafka: kafka, kafkaProperties: ["message.max.bytes": "1000"])
        let run = try await run(["run", "--config", file, "--client-id", "23456", "--dry-run"])
        #expect(run.status == 1, "\(run.stderr)")
        let result = try ValidatedResult.decode(Array(run.stdout.utf8))
        #expect(result.success && result.configs.count == 7, "the result is printed whole")
        #expect(run.stderr.contains("not published") || run.stderr.contains("could not be published"), "\(run.stderr)")
        #expect(await simulator.deactivationWrites(forClient: 23456) == 0)
        await server.stop()
    }
}
