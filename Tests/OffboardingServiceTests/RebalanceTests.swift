import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingSandbox
import OffboardingService
import OffboardingTestSupport
import PSAConnectWise
import PSASimulators
import Synchronization
import Testing

/// A second member joins while the first is busy, so partitions are revoked mid-work: the records
/// running there finish before the partitions move, so none runs twice at once.
@Suite(.timeLimit(.minutes(3)))
struct RebalanceTests {
    @Test func partitionsRevokedMidWorkLoseNothingAndStoreNoOffsetTheyNoLongerOwn() async throws {
        let logger = Logger.test()
        let kafka = try KafkaFixture(partitions: .service(events: 6), logger: logger)
        let topics = kafka.topics
        let sandbox = try PSASandbox.make(.connectwise, dataset: .empty)
        let server = try await SimulatorServer.start(router: sandbox.tenant.makeRouter(), logger: logger)
        await sandbox.tenant.setLatency(.milliseconds(200))
        var configuration = OffboarderConfiguration(
            kafka: .init(
                bootstrapServers: kafka.bootstrapServers, groupID: "rebalance-\(UUID().uuidString)", topics: topics,
                // librdkafka 2.0.2's mock coordinator completes the rebalance about one session
                // timeout after the join, and puts out a member that has not rejoined by then; a
                // member rejoins after its revocation, which waits for running records. So each
                // record here is short (under a second), and the lanes are long.
                properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]),
            psa: sandbox.configuration(server.baseURL), defaults: OffboardingOptions(offboardedStatuses: ["Offboarded"]))
        configuration.signingKeys = [PipelineHarness.signingKey]
        configuration.maxConcurrentUpdates = 2
        // The records running at the revocation finish within it even on a loaded machine.
        configuration.revocationGrace = .seconds(60)
        // 200 ms a PSA request and two at a time per client: one client's first event takes about a
        // second, its later ones (nothing left to change) less; twenty events a client make lanes
        // that outlast the second member's join by seconds.
        if var connectwise = configuration.psa.settings(as: ConnectWiseClient.Configuration.self) {
            connectwise.http.maxInFlight = 64
            configuration.psa = .connectwise(connectwise)
        }
        let results = try kafka.collector(of: topics.results)
        let producer = try kafka.makeProducer()

        var eventIDs: Set<String> = []
        var configs: [Int] = []
        for index in 0..<10 {
            let id = 800_000 + index
            configs += await sandbox.tenant.addClient(id: id, name: "Client \(id)", offboarded: true, active: 10, inactive: 0)
        }
        for _ in 0..<20 {
            for index in 0..<10 {
                let event = CompanyStatusChangedEvent(
                    id: UUID().uuidString, source: "test", psa: .connectwise, companyID: String(800_000 + index), status: "Offboarded")
                let (headers, value) = CloudEventEncoder.structured(event)
                try await producer.send(.init(topic: topics.events, key: event.companyID, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
                eventIDs.insert(event.id)
            }
        }

        let first = try OffboarderRuntime(configuration: configuration, logger: logger, signals: [])
        let firstRun = Task { try await first.run() }
        let secondMember = Mutex<(runtime: OffboarderRuntime, run: Task<Void, any Error>)?>(nil)
        // Stopped however the checks end: members left running after a failed wait kept the test
        // process from exiting once (a loaded run whose rebalance outlasted the time limit).
        do {
            // Wait until the first member has the records in flight (the TopicCollector's ticks pace the checks).
            try await results.wait(timeout: .seconds(60), for: "the first member's work in flight") { _ in
                first.pipeline.health().recordsInFlight >= 30
            }
            // The first member is busy: a second one joins and takes partitions away from it.
            let second = try OffboarderRuntime(configuration: configuration, logger: logger, signals: [])
            let secondRun = Task { try await second.run() }
            secondMember.withLock { $0 = (second, secondRun) }
            let ids = eventIDs
            _ = try await results.wait(timeout: .seconds(120), for: "every event's result") { records in
                Set(records.compactMap { $0.headers.last(named: "offboarding.event.id")?.stringValue }).isSuperset(of: ids)
            }
            // The revoked partitions reach the second member, which reads them from the last commit:
            // what the first member finished is skipped as already published, what it had not started
            // is run there.
            do {
                try await results.wait(timeout: .seconds(60), for: "the second member to take over and settle") { _ in
                    let snapshot = second.pipeline.statistics.snapshot
                    return !second.pipeline.assignment.isEmpty && second.pipeline.health().recordsInFlight == 0
                        && snapshot.alreadyPublished + snapshot.resultsPublished + snapshot.leftForNextOwner == snapshot.received
                }
            } catch {
                Issue.record("not settled: second \(second.pipeline.statistics.snapshot), \(second.pipeline.health()), assigned \(second.pipeline.assignment); first \(first.pipeline.statistics.snapshot), \(first.pipeline.health())")
                throw error
            }
            let statistics = [first.pipeline.statistics.snapshot, second.pipeline.statistics.snapshot]
            #expect(statistics[0].awaitedAtRevocation > 0, "partitions were revoked while their records ran")
            #expect(statistics[0].finishedAfterRevoke == 0, "the revocation waited for the records running on the revoked partitions")
            #expect(statistics.allSatisfy { $0.offsetStoreFailures == 0 }, "no offset was stored for a partition no longer owned")
            let decoded = try results.records.map { try ValidatedResult.decode($0.value ?? []) }
            let byEvent = Dictionary(grouping: decoded, by: \.eventID)
            #expect(Set(byEvent.keys) == eventIDs)
            for (_, duplicates) in byEvent where duplicates.count > 1 {
                #expect(Set(duplicates.map(\.success)).count == 1)
            }
            let deactivated = decoded.flatMap { $0.configs.filter { $0.action == .deactivated }.map(\.configID) }
            #expect(deactivated.count == Set(deactivated).count, "a configuration was counted deactivated twice")
            for config in configs { #expect(await sandbox.tenant.isConfigurationActive(config) == false) }
            print(
                "rebalance: \(eventIDs.count) events, \(results.records.count) results, redelivered to the second member \(statistics[1].received), awaited at revocation \(statistics[0].awaitedAtRevocation), left for the next owner \(statistics[0].leftForNextOwner), finished after revoke \(statistics.map(\.finishedAfterRevoke)), "
                    + "skipped as already published \(statistics.map(\.alreadyPublished)), offset store failures \(statistics.map(\.offsetStoreFailures))")
        } catch {
            if let (second, secondRun) = secondMember.withLock({ $0 }) {
                await second.triggerGracefulShutdown()
                _ = try? await secondRun.value
            }
            await first.triggerGracefulShutdown()
            _ = try? await firstRun.value
            await results.stop()
            await producer.shutdown()
            await server.stop()
            throw error
        }
        let (second, secondRun) = try #require(secondMember.withLock { $0 })

        // One after the other: librdkafka 2.0.2 can assert when a cooperative-sticky member is
        // destroyed while the rebalance caused by another member leaving is still joining (#4312).
        await second.triggerGracefulShutdown()
        try await secondRun.value
        await first.triggerGracefulShutdown()
        try await firstRun.value
        await results.stop()
        await producer.shutdown()
        await server.stop()
    }

    /// Liveness fails when the poll loop does not turn: here a revocation that waits for records
    /// held by a PSA outage holds the poll loop (librdkafka runs the rebalance inside the poll),
    /// and liveness is asked with a stall timeout of two seconds instead of a minute.
    @Test func aPollLoopThatDoesNotTurnMakesThePipelineStalledUntilItTurnsAgain() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { configuration in
            configuration.pollStallTimeout = .seconds(2)
            configuration.revocationGrace = .seconds(60)
            // A try a second: the eight waiting records add little load to a loaded suite.
            configuration.outageBackoff = .seconds(1)
            configuration.maxOutageBackoff = .seconds(1)
            configuration.outageMaxWait = .seconds(120)
            configuration.psa.updateHTTP { $0.maxAttempts = 1 }
        }
        let pipeline = harness.runtime.pipeline
        var second: (runtime: OffboarderRuntime, run: Task<Void, any Error>)?
        do {
            try await harness.waitForAssignment()
            // A record waits for the PSA on every partition of both topics, so whichever partitions
            // the cooperative-sticky assignor moves have one running.
            var eventIDs: [String] = []
            for partition in Int32(0)..<4 {
                let client = await harness.makeClient(active: 1)
                await harness.tenant.failListing(ofClient: client.id, status: 503, retryAfterSeconds: nil, times: nil)
                let event = harness.event(forClient: client.id)
                let (headers, value) = CloudEventEncoder.structured(event)
                try await harness.sendRecord(topic: PipelineHarness.topics.events, partition: partition, key: event.companyID, value: value, headers: headers)
                let retried = await harness.makeClient(active: 1)
                await harness.tenant.failListing(ofClient: retried.id, status: 503, retryAfterSeconds: nil, times: nil)
                let request = RetryRequest(
                    eventID: UUID().uuidString, trigger: .event, psa: .connectwise, clientID: String(retried.id), clientName: nil, reason: nil,
                    offboardedStatuses: ["Offboarded"], attempt: 2, configs: retried.configurations.map { .init(configID: String($0), configName: "c") })
                try await harness.sendRecord(
                    topic: PipelineHarness.topics.retry, partition: partition, key: String(retried.id), value: request.encoded(),
                    headers: [("retry.attempt", "2"), ("retry.due", Timestamp.string(Date(), fractionalSeconds: true))])
                eventIDs += [event.id, request.eventID]
            }
            try await waitUntil(timeout: .seconds(60), "every record to wait on the PSA") {
                guard case .waitingOnPSA = pipeline.health().state else { return false }
                return pipeline.health().recordsInFlight == eventIDs.count
            }

            // A second member joins: the first member's revocation waits inside its poll.
            let runtime = try OffboarderRuntime(configuration: harness.configuration, logger: .test(), signals: [])
            second = (runtime, Task { try await runtime.run() })
            do {
                try await waitUntil(timeout: .seconds(60), "liveness to fail on the poll loop") {
                    guard case .stalled(let reason) = pipeline.health().state else { return false }
                    return reason.contains("the poll loop has not turned")
                }
            } catch {
                Issue.record("first \(pipeline.health()) \(pipeline.assignment) \(pipeline.statistics.snapshot); second \(runtime.pipeline.health()) \(runtime.pipeline.assignment)")
                throw error
            }
            #expect(!pipeline.health().isLive)
            // Not a passing hiccup: it lasts while the PSA is out, the revocation waiting.
            try await Task.sleep(for: .seconds(3))
            if case .stalled(let reason) = pipeline.health().state {
                #expect(reason.contains("the poll loop has not turned"), "\(reason)")
            } else {
                Issue.record("no longer stalled while the PSA is out: \(pipeline.health())")
            }
            #expect(pipeline.statistics.snapshot.awaitedAtRevocation == 0, "the revocation has not ended")

            // The PSA answers: the records finish, the revocation ends, the poll loop turns.
            await harness.tenant.clearFaults()
            try await waitUntil(timeout: .seconds(60), "the poll loop to turn again") { pipeline.health().isLive }
            #expect(pipeline.statistics.snapshot.awaitedAtRevocation > 0, "the revocation waited for the running records")
            // Nothing was lost on the way: each event's result, each configuration inactive.
            for id in eventIDs {
                #expect(try await harness.result(for: id).result.statistics.configsDeactivated == 1)
            }
        } catch {
            if let second {
                await second.runtime.triggerGracefulShutdown()
                _ = try? await second.run.value
            }
            try? await harness.stop()
            throw error
        }
        if let second {
            await second.runtime.triggerGracefulShutdown()
            try await second.run.value
        }
        // librdkafka 2.0.2 asserts (`rd_kafka_cgrp_terminated: !rd_kafka_assignment_in_progress`)
        // when a member closes while the rebalance that the other's leaving began is still under
        // way; a loaded full-suite run crashed so. The first member stops once it owns every
        // partition again.
        try await waitUntil(timeout: .seconds(60), "the first member to own every partition again") { pipeline.assignment.count == 8 }
        try await harness.stop()
    }
}
