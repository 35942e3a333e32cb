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

/// `psa-offboarder consume` as a process, stopped or killed in the middle of an offboarding: a
/// stop is bounded by `shutdown.grace`, and a restart finishes the offboarding with one result that
/// reports everything it changed, retries included.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct StopAndCrashTests {
    static let topics = PipelineHarness.topics

    static func kafka(brokers: Int, logger: Logger) throws -> KafkaFixture {
        try KafkaFixture(brokers: brokers, partitions: .service(events: 2, results: 2, retry: 2), logger: logger)
    }

    static func configuration(kafka: KafkaFixture, group: String, psa: String, section: String) throws -> String {
        var configuration = ConfigurationYAML(
            bootstrapServers: kafka.bootstrapServers, groupID: group, psa: psa,
            kafkaProperties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "fetch.wait.max.ms": "50"])
        configuration.sections = [section]
        return try configuration.write()
    }

    static func assigned(_ stderr: String) -> Bool {
        stderr.split(separator: "\n").contains { $0.contains("partitions assigned") && $0.contains("\(topics.events)[") }
    }

    static func eventID(_ record: KafkaRecord) -> String? { record.headers.last(named: "offboarding.event.id")?.stringValue }

    static func event(for client: Int, psa: PSAKind) -> CompanyStatusChangedEvent {
        CompanyStatusChangedEvent(
            id: UUID().uuidString.lowercased(), source: "test", psa: psa, companyID: String(client), companyName: "Client \(client)", status: "Offboarded")
    }

    static func send(_ event: CompanyStatusChangedEvent, with producer: KafkaProducer) async throws {
        let (headers, value) = CloudEventEncoder.structured(event)
        try await producer.send(
            KafkaOutgoingRecord(topic: topics.events, key: event.companyID, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
    }

    /// HaloPSA's default pacing (300 requests per rolling 5 minutes) makes a 1,000-asset offboarding
    /// written one asset at a time (`batch_size: 1`) take over 15 minutes; SIGTERM in the middle
    /// must end the process within the grace.
    @Test func sigtermWithAPacedOffboardingInFlightExitsWithinTheGraceAndARestartFinishesIt() async throws {
        let logger = Logger.test()
        let kafka = try Self.kafka(brokers: 1, logger: logger)
        let sandbox = try PSASandbox.make(.halopsa, dataset: .empty)
        let halo = try #require(sandbox.tenant as? HaloSimulator)
        await halo.setRollingLimit(maxRequests: 300, window: .seconds(300))
        let server = try await SimulatorServer.start(router: halo.makeRouter(), logger: logger)
        let assets = await halo.addClient(id: 700_001, name: "Client 700001", offboarded: true, active: 1_000, inactive: 0)
        let group = "stop-\(UUID().uuidString)"
        let grace = 3
        // The file's pacing is Halo's default; the restart lifts it so that the test ends soon.
        let oneByOne = sandbox.yaml(server.baseURL).replacingOccurrences(of: "scope: all}", with: "scope: all, batch_size: 1}")
        let paced = try Self.configuration(kafka: kafka, group: group, psa: oneByOne, section: "shutdown: {grace: \(grace)s}")
        let unpaced = try Self.configuration(kafka: kafka, group: group, psa: sandbox.yaml(server.baseURL), section: "rate_limit: {requests: 0, per: 1s}")
        let results = try kafka.collector(of: Self.topics.results)
        let producer = try kafka.makeProducer()
        let environment = ["LOG_LEVEL": "info"]

        let first = try OffboarderProcess(arguments: ["consume", "--config", paced], environment: environment)
        try await first.waitForStderr(timeout: .seconds(60), "the assignment", Self.assigned)
        let event = Self.event(for: 700_001, psa: .halopsa)
        try await Self.send(event, with: producer)
        // A write is a GET and a POST: the window's 300 requests cover about 148 of them, then the
        // run waits for the window to roll on.
        try await waitUntil(timeout: .seconds(60), "the first window's writes") { await halo.deactivationWrites(forClient: 700_001) >= 100 }

        let signalled = ContinuousClock.now
        first.signal(SIGTERM)
        let status = await first.waitForExit()
        let stopTime = ContinuousClock.now - signalled
        #expect(status == 0, "\(first.stderr.suffix(2000))")
        #expect(stopTime <= .seconds(grace + 5), "the stop took \(stopTime)")
        #expect(first.stderr.contains("shutdown grace over"))
        try await results.caughtUp()
        #expect(results.records.filter { Self.eventID($0) == event.id }.isEmpty, "no result for an abandoned run")
        #expect(await halo.rateLimited == 0, "the paced run met no 429")
        let writesBeforeStop = await halo.deactivationWrites(forClient: 700_001)

        // The restart runs unpaced, against a tenant whose limit no longer binds.
        await halo.setRollingLimit(maxRequests: 1_000_000, window: .seconds(1))
        let second = try OffboarderProcess(arguments: ["consume", "--config", unpaced], environment: environment)
        _ = try await results.wait(timeout: .seconds(120), for: "the restarted run's result") { records in
            records.contains { Self.eventID($0) == event.id }
        }
        // A marker on the same key: once its result is in, a second result of the event would be too.
        let marker = Self.event(for: 700_001, psa: .halopsa)
        try await Self.send(marker, with: producer)
        let records = try await results.wait(timeout: .seconds(60), for: "the marker's result") { records in
            records.contains { Self.eventID($0) == marker.id }
        }
        let ofEvent = records.filter { Self.eventID($0) == event.id }
        #expect(ofEvent.count == 1, "one final result")
        let result = try ValidatedResult.decode(ofEvent.first?.value ?? [])
        // It reports the whole offboarding, what the stopped run changed included.
        #expect(result.success)
        #expect(result.statistics == .init(configsFound: 1_000, configsDeactivated: 1_000, configsSkipped: 0, errors: 0, configsConfirmed: 1_000))
        #expect(result.warnings.contains { $0.code == .resumedAfterInterruption && $0.message.hasPrefix("\(writesBeforeStop) ") }, "\(result.warnings)")
        for id in assets { #expect(await halo.isConfigurationActive(id) == false) }
        print("sigterm: stopped in \(stopTime) with grace \(grace) s after \(writesBeforeStop) of 1000 writes; restart reported \(result.statistics.configsDeactivated)")

        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
        await results.stop()
        await producer.shutdown()
        await server.stop()
    }

    /// The results topic's broker goes down after the writes: the process publishes the retry
    /// request (first), cannot publish the result, and is killed. The restart runs the event again
    /// (no result, so the ledger does not skip it), reports the configurations deactivated before
    /// the kill, and the retry request still runs.
    @Test func aKillBetweenTheRetryRequestAndTheResultLosesNeitherAndTheRerunReportsWhatWasDone() async throws {
        let logger = Logger.test()
        let kafka = try Self.kafka(brokers: 2, logger: logger)
        let cluster = kafka.cluster
        let group = "kill-\(UUID().uuidString)"
        // Everything on broker 1 but the results topic, which broker 2 leads.
        for topic in [Self.topics.events, Self.topics.retry, Self.topics.approvals, Self.topics.deadLetter, Self.topics.results] {
            for partition in 0..<(topic == Self.topics.deadLetter ? Int32(1) : 2) {
                cluster.setPartitionLeader(topic: topic, partition: partition, brokerID: topic == Self.topics.results ? 2 : 1)
            }
        }
        for name in [group, group + ".approvals", "psa-offboarder-approvals"] { cluster.setGroupCoordinator(name, brokerID: 1) }
        let sandbox = try PSASandbox.make(.connectwise, dataset: .empty)
        let simulator = try #require(sandbox.tenant as? ConnectWiseSimulator)
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: logger)
        let configs = await simulator.addClient(id: 710_001, name: "Client 710001", offboarded: true, active: 20, inactive: 0)
        let stuck = configs[0]
        await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(stuck)", status: 503, retryAfterSeconds: 0, times: nil))
        // The retry comes due well after the restart's rerun of the event (kill, restart and group
        // join take a few seconds): were it first, it would set the stuck configuration inactive and
        // the rerun would rightly count 20 as resumed, not 19.
        let file = try Self.configuration(
            kafka: kafka, group: group, psa: sandbox.yaml(server.baseURL), section: "retry: {max_attempts: 2, initial_backoff: 10ms, topic_initial_delay: 15s}")
        let results = try kafka.collector(of: Self.topics.results)
        let retries = try kafka.collector(of: Self.topics.retry)
        let producer = try kafka.makeProducer()

        let first = try OffboarderProcess(arguments: ["consume", "--config", file], environment: ["LOG_LEVEL": "info"])
        try await first.waitForStderr(timeout: .seconds(60), "the assignment", Self.assigned)
        cluster.setBrokerDown(2)
        let event = Self.event(for: 710_001, psa: .connectwise)
        try await Self.send(event, with: producer)
        _ = try await retries.wait(timeout: .seconds(60), for: "the retry request") { records in
            records.contains { (try? RetryRequest.decode($0.value))?.eventID == event.id }
        }
        try await waitUntil(timeout: .seconds(30), "the other writes") {
            await configs.dropFirst().asyncAllSatisfy { await simulator.isConfigurationActive($0) == false }
        }
        first.signal(SIGKILL)
        _ = await first.waitForExit()
        cluster.setBrokerUp(2)
        await simulator.clearFaults()

        let second = try OffboarderProcess(arguments: ["consume", "--config", file], environment: ["LOG_LEVEL": "info"])
        let records: [KafkaRecord]
        do {
            records = try await results.wait(timeout: .seconds(120), for: "the rerun's result and the retry's") { records in
                let attempts = records.filter { Self.eventID($0) == event.id }.compactMap { try? ResultEncoding.decode($0.value ?? []) }.map { $0.attempt ?? 1 }
                return attempts.contains(1) && attempts.contains(2)
            }
        } catch {
            let attempts = results.records.compactMap { try? ResultEncoding.decode($0.value ?? []) }.map { "attempt \($0.attempt ?? 1): \($0.statistics)" }
            Issue.record("results: \(attempts); the restarted process said: \(second.stderr.split(separator: "\n").filter { !$0.contains("rdkafka") }.suffix(25).joined(separator: "\n"))")
            second.signal(SIGKILL)
            throw error
        }
        let decoded = try records.filter { Self.eventID($0) == event.id }.map { try ValidatedResult.decode($0.value ?? []) }
        let rerun = try #require(decoded.first { $0.attempt == nil })
        // The configurations written before the kill are reported, not lost as "not found".
        #expect(rerun.success && rerun.statistics.configsDeactivated == 20 && rerun.statistics.configsFound == 20)
        #expect(rerun.warnings.contains { $0.code == .resumedAfterInterruption && $0.message.hasPrefix("19 ") }, "\(rerun.warnings)")
        #expect(!rerun.warnings.contains { $0.code == .configNotFound })
        let retried = try #require(decoded.first { $0.attempt == 2 })
        #expect(retried.success && retried.configs.map(\.configID) == [String(stuck)])
        for id in configs { #expect(await simulator.isConfigurationActive(id) == false) }

        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
        await results.stop()
        await retries.stop()
        await producer.shutdown()
        await server.stop()
    }
}

extension Sequence {
    func asyncAllSatisfy(_ predicate: (Element) async -> Bool) async -> Bool {
        for element in self where !(await predicate(element)) { return false }
        return true
    }
}
