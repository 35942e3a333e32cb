import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import OffboardingSandbox
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// `psa-offboarder sweep` as users run it: the scheduled trigger's events put on a real topic, and
/// its exit status. (The sweep itself over each PSA's simulator: `SweepTests` of OffboardingServiceTests.)
@Suite struct SweepTests {
    static let topics = OffboarderConfiguration.Topics(events: "sweep.events", results: "r", deadLetter: "d")

    @Test func theSweepCommandPutsOneEventPerClientOnTheEventsTopic() async throws {
        let logger = Logger.test()
        let kafka = try KafkaFixture(topics: Self.topics, partitions: .init(events: 2), logger: logger)
        let simulator = ConnectWiseSimulator(data: .sample())
        _ = await simulator.addClient(id: 700_101, name: "Sweep me", offboarded: true, active: 3, inactive: 0)
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: logger)
        var configuration = ConfigurationYAML(
            bootstrapServers: kafka.bootstrapServers, groupID: "sweep", topics: Self.topics,
            psa: ConfigurationYAML.connectWiseFromEnvironment(serverURL: server.baseURL))
        configuration.offboardedStatuses = nil
        configuration.cron = "0 2 * * *"
        let file = try configuration.write()
        let process = try OffboarderProcess(
            arguments: ["sweep", "--config", file],
            environment: ConfigurationYAML.connectWiseEnvironment)
        #expect(await process.waitForExit() == 0, "\(process.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(process.stdout.utf8)) as? [String: Any])
        let reported = try #require(summary["events"] as? [String])
        #expect(reported.contains { $0.hasSuffix("-700101") })

        let events = try kafka.collector(of: Self.topics.events)
        let records = try await events.wait(timeout: .seconds(30), for: "the sweep's events") { $0.count >= reported.count }
        let decoded = try records.map { try CloudEventDecoder.decode(value: $0.value, headers: $0.headerStrings) }
        #expect(Set(decoded.map(\.id)) == Set(reported))
        #expect(decoded.allSatisfy { $0.trigger == .schedule && $0.psa == .connectwise })
        #expect(records.allSatisfy { record in decoded.contains { $0.companyID == record.keyString } })
        await events.stop()
        await server.stop()
    }

    /// The README's promise: `sweep` exits 1 when a client could not be checked, and still sends
    /// the events of the clients it could check.
    @Test func theSweepCommandExitsOneWhenAClientCouldNotBeChecked() async throws {
        let logger = Logger.test()
        let kafka = try KafkaFixture(topics: Self.topics, partitions: .init(events: 1), logger: logger)
        let simulator = ConnectWiseSimulator(data: .empty())
        _ = await simulator.addClient(id: 700_201, name: "Checked", offboarded: true, active: 2, inactive: 0)
        _ = await simulator.addClient(id: 700_202, name: "Unreadable", offboarded: true, active: 2, inactive: 0)
        await simulator.failListing(ofClient: 700_202, status: 403, retryAfterSeconds: nil, times: nil)
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: logger)
        let file = try ConfigurationYAML(
            bootstrapServers: kafka.bootstrapServers, groupID: "sweep", topics: Self.topics,
            psa: ConfigurationYAML.connectWiseFromEnvironment(serverURL: server.baseURL)
        ).write()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = try OffboarderProcess(
            arguments: ["sweep", "--config", file],
            environment: ConfigurationYAML.connectWiseEnvironment)
        #expect(await process.waitForExit() == 1, "\(process.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(process.stdout.utf8)) as? [String: Any])
        #expect(summary["failures"] as? [String] == ["700202"])
        let events = try #require(summary["events"] as? [String])
        #expect(events.count == 1 && events[0].hasSuffix("-700201"), "the client that could be checked still gets its event: \(events)")
        await server.stop()
    }
}
