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

/// `psa-offboarder consume` as separate processes against a test cluster and a simulator served
/// from this process over loopback.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ConsumerProcessTests {
    struct Setup {
        let kafka: KafkaFixture
        let simulator: ConnectWiseSimulator
        let server: SimulatorServer
        let configFile: String
        let results: TopicCollector
        let producer: KafkaProducer
        let companies: [ConnectWiseDataset.Company]
        let environment: [String: String]
    }

    static let secrets = ConfigurationYAML.connectWiseEnvironment.merging(["LOG_LEVEL": "info"]) { $1 }

    func setUp(
        companies count: Int, configsEach: Int, eventPartitions: Int32, resultPartitions: Int32 = 4, bystanders: Int = 0, sections: [String] = []
    ) async throws -> Setup {
        let logger = Logger.test()
        let kafka = try KafkaFixture(partitions: .service(events: eventPartitions, results: resultPartitions), logger: logger)
        let topics = kafka.topics
        var data = ConnectWiseDataset.empty()
        for index in 0..<(count + bystanders) {
            let id = 500 + index
            let status = index < count ? ConnectWiseDataset.offboardedCompanyStatus : ConnectWiseDataset.activeCompanyStatus
            data.companies.append(.init(id: id, identifier: "C\(id)", name: "Client \(id)", status: status))
            for config in 0..<configsEach {
                data.configurations.append(.init(id: id * 1000 + config, name: "Device \(config)", companyID: id, statusID: 1))
            }
        }
        let simulator = ConnectWiseSimulator(data: data)
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: logger)
        var configuration = ConfigurationYAML(
            bootstrapServers: kafka.bootstrapServers, groupID: "process-test-\(UUID().uuidString)",
            psa: ConfigurationYAML.connectWiseFromEnvironment(serverURL: server.baseURL),
            kafkaProperties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"])
        configuration.sections = sections
        let configFile = try configuration.write()
        let results = try kafka.collector(of: topics.results)
        let producer = try kafka.makeProducer()
        return Setup(
            kafka: kafka, simulator: simulator, server: server, configFile: configFile, results: results, producer: producer,
            companies: data.companies, environment: Self.secrets)
    }

    func send(_ company: ConnectWiseDataset.Company, status: String = "Offboarded", through setup: Setup) async throws -> String {
        let event = CompanyStatusChangedEvent(
            id: UUID().uuidString.lowercased(), source: "test", psa: .connectwise, companyID: String(company.id), companyName: company.name,
            status: status)
        let (headers, value) = CloudEventEncoder.structured(event)
        try await setup.producer.send(
            KafkaOutgoingRecord(
                topic: PipelineHarness.topics.events, key: event.companyID, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
        return event.id
    }

    /// What a process said before it ended badly: its last lines before any crash report, and the
    /// report's head.
    static func crashReport(_ stderr: String) -> String {
        let marker = ["Fatal error", "*** Program crashed", "*** Signal"].compactMap { stderr.range(of: $0)?.lowerBound }.min()
        guard let marker else { return String(stderr.suffix(3000)) }
        return String(stderr[..<marker].suffix(3000)) + String(stderr[marker...].prefix(3000))
    }

    static func eventID(_ record: KafkaRecord) -> String? { record.headers.last(named: "offboarding.event.id")?.stringValue }

    /// A cooperative rebalance can hand a member an empty assignment first; wait for partitions.
    static func ownsPartitions(_ stderr: String) -> Bool {
        stderr.split(separator: "\n").contains { $0.contains("partitions assigned") && $0.contains("\(PipelineHarness.topics.events)[") }
    }

    @Test func twoProcessesInOneGroupShareThePartitionsAndProcessEveryEventOnce() async throws {
        let setup = try await setUp(companies: 60, configsEach: 3, eventPartitions: 6)
        let first = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: setup.environment)
        try await first.waitForStderr(timeout: .seconds(30), "the first member's assignment", Self.ownsPartitions)
        let second = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: setup.environment)
        try await second.waitForStderr(timeout: .seconds(30), "the second member's assignment", Self.ownsPartitions)
        try await first.waitForStderr(timeout: .seconds(30), "the first member giving up partitions") { $0.contains("partitions revoked") }

        var eventIDs: Set<String> = []
        for company in setup.companies { eventIDs.insert(try await send(company, through: setup)) }
        let records = try await setup.results.wait(timeout: .seconds(60), for: "60 results") { records in
            Set(records.compactMap(Self.eventID)).isSuperset(of: eventIDs)
        }

        // Every event once: no event has two results, and both processes did part of the work.
        let perEvent = Dictionary(grouping: records.compactMap(Self.eventID), by: { $0 })
        #expect(perEvent.count == 60)
        #expect(perEvent.values.allSatisfy { $0.count == 1 })
        for record in records {
            let result = try ValidatedResult.decode(record.value ?? [])
            #expect(result.success && result.statistics.configsDeactivated == 3)
        }
        let instances = Set(records.compactMap { $0.headers.last(named: "offboarding.instance")?.stringValue })
        #expect(instances.count == 2, "results came from \(instances)")
        for company in setup.companies {
            for config in 0..<3 {
                #expect(await setup.simulator.statusID(ofConfiguration: company.id * 1000 + config) == ConnectWiseDataset.inactiveConfigurationStatus.id)
            }
        }

        // One after the other, and the second only once it has taken over the first's partitions
        // of both groups (events and approvals): librdkafka 2.0.2 asserts when a cooperative-sticky
        // member is destroyed while the rebalance caused by the other one leaving is still joining
        // (#4312), and that rebalance comes seconds after the first has exited.
        let before = second.stderr.count
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0, "first: \(Self.crashReport(first.stderr))")
        try await second.waitForStderr(timeout: .seconds(60), "the first's partitions taken over") { text in
            let since = text.dropFirst(before).split(separator: "\n").filter { $0.contains("partitions assigned") }
            return since.contains { $0.contains("\(PipelineHarness.topics.events)[") } && since.contains { $0.contains("approvals[") }
        }
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0, "second: \(Self.crashReport(second.stderr))")
        await setup.results.stop()
        await setup.producer.shutdown()
        await setup.server.stop()
    }

    /// Notices survive a crash: a process killed after a result is published but before the
    /// channel took its notice tells it after the restart, and notices the channel confirmed
    /// before the kill are not told again.
    @Test func aKillBetweenAResultAndItsNoticeLosesNoNoticeAndRepeatsNoneConfirmed() async throws {
        let receiver = NoticeReceiver()
        let hooks = try await SimulatorServer.start(router: receiver.router(), logger: .test())
        let secret = "whsec_" + Data(repeating: 3, count: 32).base64EncodedString()
        // One results partition: the feed reads them in order, so a later notice told means every
        // earlier one was dealt with.
        let setup = try await setUp(
            companies: 1, configsEach: 1, eventPartitions: 2, resultPartitions: 1,
            sections: [
                "notify: {channels: [{kind: webhook, url: \"\(hooks.baseURL)/hook\", secret: \"\(secret)\", notices: [offboarding_failed]}]}"
            ])
        // Clients the PSA does not know: each offboarding fails, and that is told.
        func failing(_ id: Int) -> ConnectWiseDataset.Company { .init(id: id, identifier: "X\(id)", name: "Client \(id)", status: ConnectWiseDataset.offboardedCompanyStatus) }
        func told(_ id: Int) -> [NoticeReceiver.Delivery] {
            receiver.deliveries(to: "/hook").filter { String(decoding: $0.body, as: UTF8.self).contains(#""client_id":"\#(id)""#) }
        }
        let first = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: setup.environment)
        try await first.waitForStderr(timeout: .seconds(30), "the assignment", Self.ownsPartitions)
        // The feed starts at the topics' ends once its group is assigned: send until one is told.
        for attempt in 1...30 where told(990).isEmpty {
            _ = try await send(failing(990), through: setup)
            _ = await receiver.waitForDelivery(timeout: .seconds(2)) { _ in true }
            #expect(attempt < 30 || !told(990).isEmpty, "the notice feed never told a result")
        }
        receiver.answer("/hook", forBodiesHolding: #""client_id":"991""#, with: [.init(status: 503, body: "maintenance")])
        _ = try await send(failing(991), through: setup)
        try await waitUntil(timeout: .seconds(30), "two refused attempts at 991's notice") { told(991).count >= 2 }
        first.signal(SIGKILL)
        _ = await first.waitForExit()
        // What the channel confirmed before the kill (every result before 991's was dealt with:
        // one partition, in order).
        let confirmed = Set(receiver.deliveries.filter { $0.status == 200 }.compactMap { $0.headers["webhook-id"] })
        #expect(!confirmed.isEmpty)

        receiver.answer("/hook", forBodiesHolding: #""client_id":"991""#, with: [.init(status: 200, body: "ok")])
        let second = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: setup.environment)
        _ = try await send(failing(992), through: setup)
        try await waitUntil(timeout: .seconds(60), "992's notice, told after 991's") { told(992).contains { $0.status == 200 } }

        #expect(told(991).filter { $0.status == 200 }.count == 1, "991's notice told once after the restart")
        for id in confirmed {
            #expect(receiver.deliveries.filter { $0.headers["webhook-id"] == id }.count == 1, "\(id), confirmed before the kill, told again")
        }
        let accepted = receiver.deliveries.filter { $0.status == 200 }.compactMap { $0.headers["webhook-id"] }
        #expect(Set(accepted).count == accepted.count, "no notice accepted twice")
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0, "second: \(Self.crashReport(second.stderr))")
        await setup.results.stop()
        await setup.producer.shutdown()
        await setup.server.stop()
        await hooks.stop()
    }

    /// The README's promises: SIGINT stops `consume` as SIGTERM does (exit 0), and even at trace
    /// level the service's log holds no credential, in plain or as the Basic header made from it.
    /// A W3C `traceparent` on an event: the result record's `traceparent` header continues the same
    /// trace from the record's span, and the spans exported over OTLP (to a receiver in this test)
    /// are the record's, a child of the event's sender, and its PSA calls, children of it. The log
    /// lines of the record's work carry the trace id.
    @Test func aTraceparentOnAnEventContinuesInTheResultAndTheExportedSpans() async throws {
        let receiver = OTLPReceiver()
        let collector = try await SimulatorServer.start(router: receiver.router(), logger: .test())
        let setup = try await setUp(companies: 1, configsEach: 2, eventPartitions: 2, sections: ["tracing: {otlp_endpoint: \"\(collector.baseURL)\"}"])
        var environment = setup.environment
        environment["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/json"
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "100"
        environment["LOG_LEVEL"] = "debug"
        let process = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: environment)
        try await process.waitForStderr(timeout: .seconds(30), "the assignment", Self.ownsPartitions)

        let sender = TraceParent.random()
        let company = try #require(setup.companies.first)
        let event = CompanyStatusChangedEvent(
            id: UUID().uuidString.lowercased(), source: "test", psa: .connectwise, companyID: String(company.id), companyName: company.name,
            status: "Offboarded", traceParent: sender)
        let (headers, value) = CloudEventEncoder.structured(event)
        try await setup.producer.send(
            KafkaOutgoingRecord(
                topic: PipelineHarness.topics.events, key: event.companyID, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
        let published = try await setup.results.wait(timeout: .seconds(60), for: "the result") { $0.contains { Self.eventID($0) == event.id } }
        let result = try #require(published.last { Self.eventID($0) == event.id })
        let passedOn = try #require(result.headers.last(named: "traceparent")?.stringValue.flatMap(TraceParent.init), "the result carries a traceparent")
        #expect(passedOn.traceID == sender.traceID, "the same trace")
        #expect(passedOn.parentID != sender.parentID, "continued from the service's own span")

        try await waitUntil(timeout: .seconds(30), "the record's span and its PSA calls exported") {
            let spans = receiver.spans.filter { $0.traceID == sender.traceID }
            guard let record = spans.first(where: { $0.name.hasPrefix("offboarding.record") }) else { return false }
            return spans.contains { $0.kind == 3 && $0.parentSpanID == record.spanID }
        }
        let spans = receiver.spans.filter { $0.traceID == sender.traceID }
        let record = try #require(spans.first { $0.name.hasPrefix("offboarding.record") })
        #expect(record.parentSpanID == sender.parentID && record.kind == 5, "a consumer span, child of the sender's")
        #expect(record.spanID == passedOn.parentID, "the result names the record's span as its parent")
        let calls = spans.filter { $0.parentSpanID == record.spanID && $0.kind == 3 }
        #expect(calls.count >= 3 && calls.allSatisfy { $0.name.hasPrefix("connectwise ") }, "\(calls.map(\.name))")
        #expect(process.stderr.split(separator: "\n").contains { $0.contains("trace_id=\(sender.traceID)") }, "log lines carry the trace id")

        process.signal(SIGTERM)
        #expect(await process.waitForExit() == 0, "\(Self.crashReport(process.stderr))")
        await setup.results.stop()
        await setup.producer.shutdown()
        await setup.server.stop()
        await collector.stop()
    }

    @Test func sigintStopsTheServiceAndATraceLevelLogHoldsNoSecret() async throws {
        let token = "api-token-for-the-log-test-0123456789"
        let setup = try await setUp(companies: 2, configsEach: 3, eventPartitions: 2, sections: [#"http: {listen: "127.0.0.1:0", api_tokens: ["${API_TOKEN}"]}"#])
        var environment = setup.environment
        environment["LOG_LEVEL"] = "trace"
        environment["API_TOKEN"] = token
        let process = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: environment)
        try await process.waitForStderr(timeout: .seconds(30), "the assignment", Self.ownsPartitions)
        var ids: [String] = []
        for company in setup.companies { ids.append(try await send(company, through: setup)) }
        try await setup.results.wait(timeout: .seconds(60), for: "both results") { records in Set(records.compactMap(Self.eventID)).isSuperset(of: ids) }
        process.signal(SIGINT)
        #expect(await process.waitForExit() == 0, "\(Self.crashReport(process.stderr))")
        let log = process.stderr + process.stdout
        #expect(log.contains("trace"), "the log is at trace level")
        let credentials = ConnectWiseSimulator.Credentials.sandbox
        let basic = Data("acme+\(credentials.publicKey):\(credentials.privateKey)".utf8).base64EncodedString()
        for secret in [credentials.publicKey, credentials.privateKey, credentials.clientID, token, basic] {
            #expect(!log.contains(secret), "a secret reached the log")
        }
        await setup.results.stop()
        await setup.producer.shutdown()
        await setup.server.stop()
    }

    @Test func sigtermMidStreamExitsZeroAndARestartFinishesTheRest() async throws {
        let companies = 150
        let setup = try await setUp(companies: companies, configsEach: 10, eventPartitions: 4)
        await setup.simulator.setLatency(.milliseconds(5))
        let first = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: setup.environment)
        try await first.waitForStderr(timeout: .seconds(30), "the assignment", Self.ownsPartitions)

        // A stream: one event every 20 ms, for about 3 s, with SIGTERM part-way through.
        let producer = Task {
            var ids: [String] = []
            for company in setup.companies {
                ids.append(try await send(company, through: setup))
                try await Task.sleep(for: .milliseconds(20))
            }
            return ids
        }
        try await setup.results.wait(timeout: .seconds(60), for: "some results before SIGTERM") { $0.count >= 20 }
        let signalled = ContinuousClock.now
        first.signal(SIGTERM)
        let status = await first.waitForExit()
        let shutdownTime = ContinuousClock.now - signalled
        #expect(status == 0)
        #expect(shutdownTime < .seconds(10), "shutdown took \(shutdownTime)")
        let eventIDs = try await producer.value
        let beforeRestart = Set(setup.results.records.compactMap(Self.eventID))
        #expect(beforeRestart.count < companies, "the stream should outlast the first process")

        let second = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: setup.environment)
        let records = try await setup.results.wait(timeout: .seconds(90), for: "every event's result") { records in
            Set(records.compactMap(Self.eventID)).isSuperset(of: eventIDs)
        }
        // Nothing lost: every event has a result and every configuration is inactive; a duplicate
        // (allowed after a shutdown) must agree on what was deactivated.
        let byEvent = Dictionary(grouping: records, by: { Self.eventID($0) ?? "" })
        for id in eventIDs {
            let decoded = try (byEvent[id] ?? []).map { try ValidatedResult.decode($0.value ?? []) }
            #expect(!decoded.isEmpty)
            // Each result, a duplicate too, names all ten inactive, and together they report each
            // deactivated: two that disagree on the end state fail here.
            #expect(decoded.allSatisfy { $0.success && $0.configs.count == 10 && $0.configs.allSatisfy { $0.status == .inactive } }, "\(id)")
            let deactivated = Set(decoded.flatMap { $0.configs.filter { $0.action == .deactivated }.map(\.configID) })
            #expect(deactivated.count == 10, "\(id): \(deactivated.count) reported deactivated over \(decoded.count) results")
        }
        for company in setup.companies {
            for config in 0..<10 {
                #expect(await setup.simulator.statusID(ofConfiguration: company.id * 1000 + config) == ConnectWiseDataset.inactiveConfigurationStatus.id)
            }
        }
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
        await setup.results.stop()
        await setup.producer.shutdown()
        await setup.server.stop()
    }

    /// Crash safety: the consumer is killed with SIGKILL at random moments while it offboards, and
    /// restarted, until every event has its result; then nothing may be lost or touched twice.
    @Test func sigkillAtRandomMomentsLosesNothingAndTouchesNothingElse() async throws {
        let offboarded = 30
        let configsEach = 60
        // Two PSA requests in flight at most and 10 ms each: the work takes long enough to be interrupted.
        let setup = try await setUp(
            companies: offboarded, configsEach: configsEach, eventPartitions: 4, bystanders: 5,
            sections: ["rate_limit: {max_in_flight: 2}"])
        await setup.simulator.setLatency(.milliseconds(10))
        var eventIDs: Set<String> = []
        for company in setup.companies {
            if company.status == ConnectWiseDataset.offboardedCompanyStatus {
                eventIDs.insert(try await send(company, through: setup))
            } else {
                _ = try await send(company, status: "Active", through: setup)  // filtered: must change nothing
            }
        }
        func done() -> Bool { Set(setup.results.records.compactMap(Self.eventID)).isSuperset(of: eventIDs) }

        var kills = 0
        var rounds = 0
        while kills < 4, !done() {
            rounds += 1
            let process = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: setup.environment)
            try await process.waitForStderr(timeout: .seconds(60), "an assignment", Self.ownsPartitions)
            // A random moment of work before the kill.
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...2_500)))
            process.signal(SIGKILL)
            _ = await process.waitForExit()
            kills += 1
        }
        rounds += 1
        let last = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: setup.environment)
        let records = try await setup.results.wait(timeout: .seconds(180), for: "every event's result after the kills") { _ in done() }
        last.signal(SIGTERM)
        #expect(await last.waitForExit() == 0)

        let results = try records.map { try ValidatedResult.decode($0.value ?? []) }
        let lost = eventIDs.subtracting(results.map(\.eventID))
        #expect(lost.isEmpty)
        // Every configuration of every offboarded client is inactive; the others' are untouched.
        for company in setup.companies {
            let offboardedClient = company.status == ConnectWiseDataset.offboardedCompanyStatus
            for config in 0..<configsEach {
                let status = await setup.simulator.statusID(ofConfiguration: company.id * 1000 + config)
                #expect(status == (offboardedClient ? ConnectWiseDataset.inactiveConfigurationStatus.id : 1))
            }
            if !offboardedClient { #expect(await setup.simulator.patches(forCompany: company.id).isEmpty) }
        }
        // Duplicates (allowed after a crash) agree, and no configuration is counted deactivated twice.
        let byEvent = Dictionary(grouping: results, by: \.eventID)
        for (_, duplicates) in byEvent where duplicates.count > 1 {
            #expect(Set(duplicates.map(\.success)).count == 1 && Set(duplicates.map(\.clientID)).count == 1)
        }
        let deactivated = results.flatMap { $0.configs.filter { $0.action == .deactivated }.map(\.configID) }
        #expect(deactivated.count == Set(deactivated).count, "a configuration was counted deactivated twice")
        print(
            "crash-safety: \(rounds) rounds, \(kills) SIGKILLs, \(eventIDs.count) offboarding events (+5 filtered), "
                + "\(records.count) results, \(byEvent.values.filter { $0.count > 1 }.count) events with duplicates, \(lost.count) lost, "
                + "\(await setup.simulator.appliedPatches.count) PATCHes for \(offboarded * configsEach) configurations")
        await setup.results.stop()
        await setup.producer.shutdown()
        await setup.server.stop()
    }
}
