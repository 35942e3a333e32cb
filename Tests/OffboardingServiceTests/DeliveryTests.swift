import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingSandbox
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// Delivery under a PSA that fails: transient faults are retried until nothing is left active,
/// permanent ones end in a result, outages are waited out for a bounded time and then moved to
/// the retry topic, and a retry record that is not due holds nothing while it waits.
@Suite(.timeLimit(.minutes(5)))
struct DeliveryTests {
    static func eventID(_ record: KafkaRecord) -> String? { record.headers.last(named: "offboarding.event.id")?.stringValue }

    /// The configurations the results of one event report deactivated, over every attempt.
    static func deactivated(in records: [KafkaRecord], of eventID: String) -> Set<String> {
        Set(
            records.filter { Self.eventID($0) == eventID }.compactMap { try? ResultEncoding.decode($0.value ?? []) }
                .flatMap { $0.configs.filter { $0.action == .deactivated }.map(\.configID) })
    }

    @Test(arguments: PSAKind.allCases)
    func thirtyPercentTransientFaultsIncluding500sLeaveNothingActiveOnceTheRetriesAreDone(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.isolated(psa) { configuration in
            // Two attempts in place, so that a good share of the failures goes through the retry topic.
            configuration.psa.updateHTTP {
                $0.maxAttempts = 2
                $0.initialBackoff = .milliseconds(5)
                $0.maxBackoff = .milliseconds(20)
            }
            // One asset a request on HaloPSA too, so that the faults meet every write (HaloBatchTests
            // cover batches).
            configuration.psa = configuration.psa.adjusted(haloBatchSize: 1)
            configuration.retryTopicInitialDelay = .milliseconds(200)
            configuration.retryTopicMaxDelay = .milliseconds(400)
            configuration.retryTopicMaxAttempts = 8
            configuration.outageBackoff = .milliseconds(50)
            configuration.maxOutageBackoff = .milliseconds(200)
        }
        let client = await harness.makeClient(active: 295)
        // A fifth of the faults are 429s with `Retry-After: 1` that this service's rate did not
        // cause: the simulator has no limit.
        await harness.tenant.injectTransientFaults(TransientFaults(rate: 0.3, statuses: [500, 502, 503, 504, 429], seed: UInt64(psa.rawValue.count), retryAfterSeconds: 1))
        let event = harness.event(forClient: client.id)
        try await harness.send(event)

        let all = Set(client.configurations.map(String.init))
        let records = try await harness.results.wait(timeout: .seconds(180), for: "every configuration reported deactivated") { records in
            Self.deactivated(in: records, of: event.id) == all
        }
        await harness.tenant.injectTransientFaults(nil)
        for id in client.configurations { #expect(await harness.tenant.isConfigurationActive(id) == false) }
        // The faults were met by the pipeline, 500s among them, and some went through the retry topic.
        let served = await harness.tenant.transientFaultsServed()
        #expect(served[500, default: 0] > 10, "500s served: \(served)")
        #expect(served.values.reduce(0, +) > 100, "faults served: \(served)")
        // The PSA has no limit, so no 429 was about this service's rate: the first may be taken
        // for one (nothing is known yet) and lower the rate once, and perhaps once more while that
        // is judged; beyond those, at most one decrease for every ten 429s served (a machine
        // loaded by a CPU-bound process beside the suite judged 3 and 4 of 51). The rest only made
        // the refused request wait. The pacer before issue 27 lowered the rate on every 429 served
        // here and finished nothing in 180 s.
        let pacing = try #require(harness.runtime.psa.pacing)
        #expect(served[429, default: 0] > 10, "429s served: \(served)")
        #expect(pacing.slowDowns <= 2 + served[429, default: 0] / 10, "\(pacing), 429s served: \(served[429, default: 0])")
        #expect(pacing.refusalsNotOurs >= served[429, default: 0] - 8 * pacing.slowDowns, "\(pacing), 429s served: \(served[429, default: 0])")
        let statistics = harness.runtime.pipeline.statistics.snapshot
        #expect(statistics.retriesScheduled > 0 && statistics.retriesRun > 0, "\(statistics)")
        let results = try records.filter { Self.eventID($0) == event.id }.map { try ValidatedResult.decode($0.value ?? []) }
        #expect(results.count >= 2 && results.last?.success == true, "attempts: \(results.map { $0.attempt ?? 1 })")
        // Each configuration is reported deactivated once over all the attempts.
        let counted = results.flatMap { $0.configs.filter { $0.action == .deactivated }.map(\.configID) }
        #expect(counted.count == all.count)
        print("transient faults (\(psa)): served \(served.sorted { $0.key < $1.key }), \(results.count) results, retries scheduled \(statistics.retriesScheduled), outage retries \(statistics.outageRetries)")
        try await harness.stop()
    }

    /// HaloPSA's rolling limit as it may really be met: 429 with no `Retry-After` (Halo's is
    /// unconfirmed), refused requests counted in the window, the token endpoint limited too. Scaled
    /// down to 20 requests per rolling 2 s, one asset a request and no configured limit, so that the
    /// pacer meets it many times: every asset ends inactive and is reported deactivated once.
    @Test func aHaloClientMeetingItsRollingLimitWithoutRetryAfterLosesNothing() async throws {
        let harness = try await PipelineHarness.isolated(.halopsa) { configuration in
            configuration.psa = configuration.psa.adjusted(haloBatchSize: 1)
            configuration.retryTopicInitialDelay = .milliseconds(200)
            configuration.retryTopicMaxDelay = .milliseconds(400)
            configuration.retryTopicMaxAttempts = 8
        }
        let client = await harness.makeClient(active: 60)
        await harness.tenant.setRollingLimit(maxRequests: 20, window: .seconds(2))
        let event = harness.event(forClient: client.id)
        try await harness.send(event)

        let all = Set(client.configurations.map(String.init))
        let records = try await harness.results.wait(timeout: .seconds(180), for: "every asset reported deactivated") { records in
            Self.deactivated(in: records, of: event.id) == all
        }
        let refused = await harness.tenant.rateLimited
        await harness.tenant.setRollingLimit(maxRequests: 1_000_000, window: .seconds(1))
        for id in client.configurations { #expect(await harness.tenant.isConfigurationActive(id) == false) }
        #expect(refused > 0, "the limit was met")
        let results = try records.filter { Self.eventID($0) == event.id }.map { try ValidatedResult.decode($0.value ?? []) }
        let counted = results.flatMap { $0.configs.filter { $0.action == .deactivated }.map(\.configID) }
        #expect(counted.count == all.count, "each reported deactivated once over \(results.count) results")
        print("halo without Retry-After: \(refused) answered 429, \(results.count) results, \(String(describing: harness.runtime.psa.pacing))")
        try await harness.stop()
    }

    @Test(arguments: PSAKind.allCases, [400, 404])
    func aPermanentListingErrorGivesAFailureResultAndTheClientsNextEventRuns(psa: PSAKind, status: Int) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(active: 3)
        await harness.tenant.failListing(ofClient: client.id, status: status, retryAfterSeconds: nil, times: 1)
        let refused = harness.event(forClient: client.id)
        let next = harness.event(forClient: client.id)
        try await harness.send(refused)
        try await harness.send(next)

        // Same key, same lane: the second result arriving means the first did not pin the lane.
        let nextResult = try await harness.result(for: next.id).result
        #expect(nextResult.success && nextResult.statistics.configsDeactivated == 3)
        let results = harness.results(for: refused.id)
        #expect(results.count == 1)
        let result = try ValidatedResult.decode(results.first?.value ?? [])
        #expect(!result.success && result.statistics.configsDeactivated == 0)
        #expect(result.errors.count == 1 && result.errors.first?.code == .psaConnectionError)
        #expect(result.errors.first?.message.contains(String(status)) == true || status == 404, "\(result.errors)")
        try await harness.retries.caughtUp()
        #expect(!harness.retries.records.contains { $0.keyString == String(client.id) && Self.eventID($0) == refused.id })
    }

    @Test func anOutageLongerThanTheMaxWaitMovesTheEventToTheRetryTopicAndItRunsWhenThePSAIsBack() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { configuration in
            configuration.outageBackoff = .milliseconds(100)
            configuration.maxOutageBackoff = .milliseconds(200)
            configuration.outageMaxWait = .seconds(1)
            configuration.retryTopicInitialDelay = .milliseconds(500)
            configuration.retryTopicMaxAttempts = 2
            configuration.psa.updateHTTP { $0.maxAttempts = 1 }
        }
        let back = await harness.makeClient(active: 4)
        let gone = await harness.makeClient(active: 2)
        await harness.tenant.failListing(ofClient: back.id, status: 503, retryAfterSeconds: nil, times: nil)
        await harness.tenant.failListing(ofClient: gone.id, status: 503, retryAfterSeconds: nil, times: nil)
        let first = harness.event(forClient: back.id)
        let second = harness.event(forClient: gone.id)
        try await harness.send(first)
        try await harness.send(second)

        // While it waits, the health check says so, and does not call the pipeline stalled.
        try await harness.results.wait(timeout: .seconds(30), for: "the pipeline to report waiting on the PSA") { _ in
            if case .waitingOnPSA = harness.runtime.pipeline.health().state { return true }
            return false
        }
        // The probe says so too: live, waiting, and nothing of the PSA's own answer.
        let live = try await APIClient.call(.GET, harness.apiBaseURL + "/health/live", token: nil)
        let body = String(decoding: live.body, as: UTF8.self)
        #expect(live.status == 200 && body.contains("waiting_on_psa") && body.contains("PSAConnectionError, HTTP 503"), "\(body)")
        #expect(!body.contains("Injected") && !body.contains("127.0.0.1"), "\(body)")
        // After outage_max_wait both events move to the retry topic, as they were read.
        let moved = try await harness.retries.wait(timeout: .seconds(30), for: "both events on the retry topic") { records in
            Set(records.filter { $0.headers.last(named: "retry.kind")?.stringValue == "event" }.compactMap(\.keyString))
                .isSuperset(of: [String(back.id), String(gone.id)])
        }
        let record = try #require(moved.first { $0.keyString == String(back.id) && $0.headers.last(named: "retry.kind")?.stringValue == "event" })
        #expect(record.headers.last(named: "retry.attempt")?.stringValue == "2")
        #expect(record.headers.last(named: "retry.source.topic")?.stringValue == PipelineHarness.topics.events)
        #expect(record.headers.last(named: "retry.error")?.stringValue?.contains("503") == true)
        #expect(try CloudEventDecoder.decode(value: record.value, headers: record.headerStrings).id == first.id)
        try await harness.results.caughtUp()
        #expect(harness.results(for: first.id).isEmpty, "no failure result for an outage")

        // The PSA comes back for the first client only: its event runs from the retry topic.
        await harness.tenant.clearFaults()
        await harness.tenant.failListing(ofClient: gone.id, status: 503, retryAfterSeconds: nil, times: nil)
        let result = try await harness.result(for: first.id, timeout: .seconds(30)).result
        #expect(result.success && result.statistics.configsDeactivated == 4)
        // The other is still unreachable after the last attempt: dead-lettered with the reason.
        let letters = try await harness.deadLetters.wait(timeout: .seconds(30), for: "the unreachable client's event") { records in
            records.contains { $0.keyString == String(gone.id) }
        }
        let letter = try #require(letters.first { $0.keyString == String(gone.id) })
        #expect(letter.headers.last(named: "dlq.error.code")?.stringValue == "PSAConnectionError")
        #expect(try CloudEventDecoder.decode(value: letter.value, headers: letter.headerStrings).id == second.id)
        #expect(harness.runtime.pipeline.statistics.snapshot.deferredAfterOutage >= 3)
        for id in gone.configurations { #expect(await harness.tenant.isConfigurationActive(id) == true) }
        try await harness.stop()
    }

    @Test func aRetryRecordDueInAnHourHoldsNoSlotAndBlocksNoOtherClient() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { _ in }
        let later = await harness.makeClient(active: 2)
        let request = RetryRequest(
            eventID: UUID().uuidString, trigger: .event, psa: .connectwise, clientID: String(later.id), clientName: nil, reason: nil,
            offboardedStatuses: ["Offboarded"], attempt: 2, configs: later.configurations.map { .init(configID: String($0), configName: "c") })
        let due = Timestamp.string(Date().addingTimeInterval(3600), fractionalSeconds: true)
        try await harness.sendRecord(
            topic: PipelineHarness.topics.retry, key: String(later.id), value: request.encoded(), headers: [("retry.attempt", "2"), ("retry.due", due)])
        try await harness.results.wait(timeout: .seconds(30), for: "the retry partition to be held") { _ in
            harness.runtime.pipeline.statistics.snapshot.retriesDelayed > 0
        }
        // Other clients, on every events partition, are offboarded meanwhile.
        var events: [String] = []
        for _ in 0..<8 {
            let client = await harness.makeClient(active: 2)
            let event = harness.event(forClient: client.id)
            try await harness.send(event)
            events.append(event.id)
        }
        for id in events { #expect(try await harness.result(for: id).result.success) }
        // Nothing stays in flight: the held record takes no slot and no lane; it was never run. A
        // record's result is out a moment before its slot is given back, hence the wait.
        try await waitUntil(timeout: .seconds(10), "no record in flight") {
            harness.runtime.pipeline.health().recordsInFlight == 0
        }
        #expect(harness.runtime.pipeline.statistics.snapshot.retriesRun == 0)
        for id in later.configurations { #expect(await harness.tenant.isConfigurationActive(id) == true) }
        try await harness.stop()
    }

    @Test func aRetryRecordRunsWhenItIsDueAndNotBefore() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { _ in }
        try await harness.waitForAssignment()
        let client = await harness.makeClient(active: 2)
        let request = RetryRequest(
            eventID: UUID().uuidString, trigger: .event, psa: .connectwise, clientID: String(client.id), clientName: nil, reason: nil,
            offboardedStatuses: ["Offboarded"], attempt: 2, configs: client.configurations.map { .init(configID: String($0), configName: "c") })
        let sent = Date()
        try await harness.sendRecord(
            topic: PipelineHarness.topics.retry, key: String(client.id), value: request.encoded(),
            headers: [("retry.attempt", "2"), ("retry.due", Timestamp.string(sent.addingTimeInterval(3), fractionalSeconds: true))])
        let result = try await harness.result(for: request.eventID, timeout: .seconds(60)).result
        #expect(Date().timeIntervalSince(sent) >= 3, "run before it was due")
        #expect(result.success && result.attempt == 2 && result.statistics.configsDeactivated == 2)
        #expect(harness.runtime.pipeline.statistics.snapshot.retriesDelayed >= 1)
        try await harness.stop()
    }
}

@Suite(.timeLimit(.minutes(3)))
struct FilteredOffsetTests {
    /// Filtered events never reach a lane: their offsets are still stored and committed, both for
    /// those the prefilter decides in librdkafka's buffer and for those the full decoder decides.
    @Test func filteredEventsAreCommittedPastWhetherThePrefilterOrTheDecoderDecidedThem() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { _ in }
        try await harness.waitForAssignment()
        let client = await harness.makeClient(active: 1)
        for index in 0..<400 {
            // Every tenth in binary mode, which the prefilter leaves to the decoder.
            try await harness.send(harness.event(forClient: client.id + index % 7, status: "Active"), binary: index % 10 == 0)
        }
        try await harness.results.wait(timeout: .seconds(60), for: "400 filtered events") { _ in
            harness.runtime.pipeline.statistics.snapshot.filtered >= 400
        }
        let partitions = (0..<4).map { KafkaTopicPartition(topic: PipelineHarness.topics.events, partition: $0) }
        let reader = try KafkaConsumer(
            configuration: .init(
                bootstrapServers: harness.cluster.bootstrapServers, groupID: harness.configuration.kafka.groupID,
                consumption: .partitionsFromBeginning(partitions)),
            logger: .test())
        var ends: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions { ends[partition] = try await reader.watermarks(of: partition).high }
        // Commits happen every second: wait for the group's position to reach every partition's end.
        try await waitUntil(timeout: .seconds(30), "the commits to reach the end of every partition") {
            (try? await reader.committedOffsets(partitions)) == ends
        }
        #expect(harness.runtime.pipeline.statistics.snapshot.resultsPublished == 0)
        await reader.close()
        try await harness.stop()
    }
}
