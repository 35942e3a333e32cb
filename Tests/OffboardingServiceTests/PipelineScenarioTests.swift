import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingSandbox
@testable import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// The contract suite: the same scenarios end to end through the real consumer pipeline for every
/// PSA — events on the mock cluster, the PSA's simulator over HTTP, results read back from the
/// results topic and checked against the result schema. A new PSA joins with one line in
/// `SimulatedPSAs`.
@Suite(.timeLimit(.minutes(5)))
struct PipelineScenarioTests {
    @Test(arguments: PSAKind.allCases)
    func offboardingDeactivatesEveryConfigurationOverSeveralPages(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(active: 1_500)
        let event = harness.event(forClient: client.id, options: .init(reason: "Contract ended"))
        try await harness.send(event)

        // Autotask writes 1,500 updates and 1,500 notes at three requests in flight per endpoint:
        // about 20 s on a quiet machine, and a loaded one (the whole suite beside a CPU-bound
        // process) has taken more than the default minute.
        let (record, result) = try await harness.result(for: event.id, timeout: .seconds(180))
        #expect(record.keyString == String(client.id))
        #expect(result.success && result.trigger == .event && result.psa == psa)
        #expect(result.eventID == event.id && result.reason == "Contract ended")
        #expect(result.statistics == .init(configsFound: 1_500, configsDeactivated: 1_500, configsSkipped: 0, errors: 0, configsConfirmed: 1_500))
        #expect(result.configs.count == 1_500)
        #expect(result.configs.allSatisfy { $0.action == .deactivated && $0.status == .inactive && $0.previousStatus == .active })
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 1_500)
        for id in client.configurations { #expect(await harness.tenant.isConfigurationActive(id) == false) }
        #expect(harness.results(for: event.id).count == 1)
    }

    @Test(arguments: PSAKind.allCases)
    func dryRunChangesNothingAndListsEveryConfiguration(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(active: 30)
        let event = harness.event(forClient: client.id, options: .init(dryRun: true))
        try await harness.send(event, binary: true)

        let result = try await harness.result(for: event.id).result
        #expect(result.success && result.dryRun)
        #expect(result.statistics == .init(configsFound: 30, configsDeactivated: 0, configsSkipped: 0, errors: 0))
        #expect(result.configs.count == 30 && result.configs.allSatisfy { $0.action == .wouldDeactivate && $0.status == .active })
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
    }

    @Test(arguments: PSAKind.allCases)
    func statusThatIsNotOffboardedIsFilteredWithoutPSAWriteOrResult(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(active: 5)
        let filtered = harness.event(forClient: client.id, status: "Active")
        // Same key, same lane: once the marker's result is in, the filtered event has been handled.
        let marker = harness.event(forClient: client.id, options: .init(dryRun: true))
        try await harness.send(filtered)
        try await harness.send(marker)

        _ = try await harness.result(for: marker.id)
        #expect(harness.results(for: filtered.id).isEmpty)
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
    }

    @Test(arguments: PSAKind.allCases)
    func staleEventChangesNothingAndWarns(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(offboarded: false, active: 4)
        let event = harness.event(forClient: client.id, status: "Offboarded")
        try await harness.send(event)

        let result = try await harness.result(for: event.id).result
        #expect(result.success)
        #expect(result.statistics.configsDeactivated == 0)
        #expect(result.warnings.map(\.code) == [.clientNotOffboarded])
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
    }

    @Test(arguments: PSAKind.allCases)
    func inactiveConfigurationsAreSkippedAndListedOnlyWithIncludeArchived(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(active: 3, inactive: 2)
        let without = harness.event(forClient: client.id, options: .init(dryRun: true))
        try await harness.send(without)
        let withoutResult = try await harness.result(for: without.id).result
        #expect(withoutResult.statistics.configsFound == 3)
        #expect(withoutResult.configs.allSatisfy { $0.previousStatus == .active })

        let with = harness.event(forClient: client.id, options: .init(includeArchived: true))
        try await harness.send(with)
        let result = try await harness.result(for: with.id).result
        #expect(result.success)
        #expect(result.statistics == .init(configsFound: 5, configsDeactivated: 3, configsSkipped: 2, errors: 0, configsConfirmed: 3))
        #expect(result.configs.filter { $0.action == .skipped }.map(\.configID).sorted() == client.configurations.suffix(2).map(String.init))
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 3)
    }

    @Test(arguments: PSAKind.allCases)
    func unknownClientIsAFailureResultWithClientNotFound(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let event = harness.event(forClient: 990_001)
        try await harness.send(event)
        let result = try await harness.result(for: event.id).result
        #expect(!result.success)
        #expect(result.errors.map(\.code) == [.clientNotFound])
        #expect(result.clientID == "990001")
    }

    @Test(arguments: PSAKind.allCases)
    func forbiddenListingIsAFailureResultWithPermissionDenied(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(active: 3)
        await harness.tenant.failListing(ofClient: client.id, status: 403, retryAfterSeconds: nil, times: nil)
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        let result = try await harness.result(for: event.id).result
        #expect(!result.success)
        #expect(result.errors.map(\.code) == [.permissionDenied])
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
    }

    @Test(arguments: PSAKind.allCases)
    func rateLimitedListingIsRetriedAfterRetryAfterThenSucceeds(psa: PSAKind) async throws {
        // Its own harness: a 429 slows the process's pacer for every client, as it should, and
        // the scenarios sharing a harness would feel it.
        let harness = try await PipelineHarness.isolated(psa) { _ in }
        let client = await harness.makeClient(active: 6)
        await harness.tenant.failListing(ofClient: client.id, status: 429, retryAfterSeconds: 1, times: 2)
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        let result = try await harness.result(for: event.id).result
        let answered = ContinuousClock.now
        #expect(result.success)
        #expect(result.statistics.configsDeactivated == 6)
        // Both refusals were served (not a group join's wait), and each Retry-After waited out:
        // the second a second after the first, the result a second after the second.
        let refusals = await harness.tenant.injectedFaultsServed()
        #expect(refusals.map(\.status) == [429, 429], "\(refusals.map(\.status))")
        if refusals.count == 2 {
            #expect(refusals[1].at - refusals[0].at >= .milliseconds(990), "\(refusals[1].at - refusals[0].at)")
            #expect(answered - refusals[1].at >= .milliseconds(990), "\(answered - refusals[1].at)")
        }
        try await harness.stop()
    }

    @Test(arguments: PSAKind.allCases)
    func anEventWaitsOutAPSAOutageAndCompletesWhenItEnds(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(active: 4)
        // More failures than one run's five attempts: the first run cannot reach the PSA at all.
        await harness.tenant.failListing(ofClient: client.id, status: 503, retryAfterSeconds: 0, times: 7)
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        let result = try await harness.result(for: event.id).result
        #expect(result.success, "no failure result is published for an outage")
        #expect(result.statistics.configsDeactivated == 4)
        #expect(harness.results(for: event.id).count == 1)
        #expect(harness.runtime.pipeline.statistics.snapshot.outageRetries >= 1)
    }

    // MARK: PSA-independent pipeline behaviour, shown once

    /// A second pipeline on the ConnectWise harness's cluster and simulator, with its own events
    /// topic and group, for settings the shared one does not have.
    func withSidePipeline(
        maxInFlightRecords: Int = 512, producerProperties: [String: String] = [:], progressStallTimeout: Duration = .seconds(300),
        psa: OffboarderConfiguration.PSA? = nil,
        _ body: (PipelineHarness, _ send: @Sendable (CompanyStatusChangedEvent, _ key: String?) async throws -> Void, OffboardingPipeline) async throws -> Void
    ) async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let topic = "test.side.\(UUID().uuidString)"
        try harness.cluster.createTopic(topic, partitions: 2)
        let producer = try harness.kafka.makeProducer(signer: harness.signer, properties: producerProperties)
        let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 8)
        let offboarder = Offboarder(
            psa: OffboarderRuntime.makePSAClient(psa ?? harness.configuration.psa, httpClient: httpClient, logger: .test()), logger: .test())
        var topics = PipelineHarness.topics
        topics.events = topic
        // Approvals of their own: a side pipeline must not carry out the shared pipeline's decisions.
        topics.approvals = "\(topic).approvals"
        try harness.cluster.createTopic(topics.approvals, partitions: 1)
        let pipeline = try OffboardingPipeline(
            configuration: .init(
                consumer: .init(bootstrapServers: harness.cluster.bootstrapServers, groupID: "side-\(UUID().uuidString)", topics: [topic]),
                topics: topics, psa: .connectwise, defaults: harness.configuration.defaults, signer: harness.signer, maxInFlightRecords: maxInFlightRecords,
                progressStallTimeout: progressStallTimeout),
            producer: producer, offboarder: offboarder, logger: .test())
        let running = Task { try await pipeline.run() }
        let eventProducer = try harness.kafka.makeProducer()
        let send: @Sendable (CompanyStatusChangedEvent, String?) async throws -> Void = { event, key in
            let (headers, value) = CloudEventEncoder.structured(event)
            try await eventProducer.send(
                .init(topic: topic, key: key ?? event.companyID, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) }))
        }
        try await body(harness, send, pipeline)
        pipeline.stop()
        try await running.value
        await producer.shutdown()
        await eventProducer.shutdown()
        try await httpClient.shutdown()
    }

    @Test func aPipelineThatStaysFullPausesFetchingAndStillProcessesEverything() async throws {
        // A slow PSA of its own, so that two records in flight keep the pipeline full for seconds.
        let simulator = ConnectWiseSimulator(data: .empty())
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        let psa = try PSASandbox.make(.connectwise, dataset: .empty).configuration(server.baseURL)
        try await withSidePipeline(maxInFlightRecords: 2, psa: psa) { harness, send, pipeline in
            await simulator.setLatency(.milliseconds(400))
            var ids: [String] = []
            for index in 0..<6 {
                let id = 990_100 + index
                _ = await simulator.addClient(id: id, name: "Slow \(id)", offboarded: true, active: 2, inactive: 0)
                let event = harness.event(forClient: id)
                try await send(event, nil)
                ids.append(event.id)
            }
            try await harness.results.wait(timeout: .seconds(90), for: "6 results through a pipeline of capacity 2") { records in
                Set(records.compactMap { $0.headers.last(named: "offboarding.event.id")?.stringValue }).isSuperset(of: ids)
            }
            let statistics = pipeline.statistics.snapshot
            #expect(statistics.resultsPublished == 6)
            #expect(statistics.fetchPauses > 0)
        }
        await server.stop()
    }

    @Test func updatesStillFailingGoToTheRetryTopicAndAFollowUpResultFinishesThem() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let client = await harness.makeClient(active: 6)
        let failing = Array(client.configurations.prefix(2))
        // Five 503s each: more than one run's in-process attempts.
        for id in failing { await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(id)", status: 503, retryAfterSeconds: 0, times: 5)) }
        let event = harness.event(forClient: client.id)
        try await harness.send(event)

        let results = try await harness.results(for: event.id, count: 2)
        let first = results[0]
        #expect(!first.success && first.attempt == nil)
        #expect(first.statistics == .init(configsFound: 6, configsDeactivated: 4, configsSkipped: 0, errors: 2, configsConfirmed: 4))
        #expect(first.errors.map(\.code) == [.configUpdateFailed, .configUpdateFailed])
        #expect(Set(first.errors.compactMap(\.configID)) == Set(failing.map(String.init)))
        let followUp = results[1]
        #expect(followUp.success && followUp.attempt == 2)
        #expect(followUp.statistics == .init(configsFound: 2, configsDeactivated: 2, configsSkipped: 0, errors: 0, configsConfirmed: 2))
        #expect(Set(followUp.configs.map(\.configID)) == Set(failing.map(String.init)))
        for id in client.configurations { #expect(await harness.tenant.isConfigurationActive(id) == false) }

        // The test's reader of the retry topic may trail the pipeline: wait for it.
        let retryRecords = try await harness.retries.wait(timeout: .seconds(30), for: "the retry request of \(event.id)") { records in
            records.contains { (try? RetryRequest.decode($0.value))?.eventID == event.id }
        }
        let retry = try #require(retryRecords.first { (try? RetryRequest.decode($0.value))?.eventID == event.id })
        let request = try RetryRequest.decode(retry.value)
        #expect(request.attempt == 2 && Set(request.configs.map(\.configID)) == Set(failing.map(String.init)))
        #expect(retry.headers.last(named: "retry.attempt")?.stringValue == "2")
        #expect(retry.headers.last(named: "retry.due")?.stringValue.flatMap(Timestamp.date(from:)) != nil)
        #expect(retry.headers.last(named: "retry.source.topic")?.stringValue == PipelineHarness.topics.events)
        #expect(retry.headers.last(named: "retry.source.offset")?.stringValue.flatMap(Int64.init) != nil)
        #expect(retry.headers.last(named: "retry.error")?.stringValue?.contains("503") == true)
        #expect(try JSONSchemaValidator(schemaFile: "retry-request.schema.json").problems(in: retry.value ?? []) == [])
    }

    @Test func anUpdateThatLandedBeforeItsAnswerFailedCountsAsDeactivated() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let client = await harness.makeClient(active: 3)
        let landed = client.configurations[0]
        // The PATCH is applied, then answered 503 (as when an answer is lost); the repeat finds it done.
        await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(landed)", status: 503, retryAfterSeconds: 0, times: 1, afterApplying: true))
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        let result = try await harness.result(for: event.id).result
        #expect(result.success)
        #expect(result.statistics == .init(configsFound: 3, configsDeactivated: 3, configsSkipped: 0, errors: 0, configsConfirmed: 3))
        #expect(result.configs.first { $0.configID == String(landed) }?.action == .deactivated, "not skipped")
        #expect(await simulator.patches(forCompany: client.id).filter { $0.configurationID == landed }.count == 2)
    }

    @Test func permanentFailuresAreNotRetried() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let client = await harness.makeClient(active: 3)
        await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(client.configurations[0])", status: 409, times: nil))
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        let result = try await harness.result(for: event.id).result
        #expect(result.statistics == .init(configsFound: 3, configsDeactivated: 2, configsSkipped: 0, errors: 1, configsConfirmed: 2))
        // A marker behind it in the same lane: once its result is in, any retry request would be too.
        let marker = harness.event(forClient: client.id, options: .init(dryRun: true))
        try await harness.send(marker)
        _ = try await harness.result(for: marker.id)
        try await harness.retries.caughtUp()
        #expect(!harness.retries.records.contains { (try? RetryRequest.decode($0.value))?.eventID == event.id })
        #expect(harness.results(for: event.id).count == 1)
    }

    @Test func afterTheLastAttemptTheRetryRequestIsDeadLettered() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let client = await harness.makeClient(active: 2)
        let stuck = client.configurations[0]
        await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(stuck)", status: 503, retryAfterSeconds: 0, times: nil))
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        // Attempts 1, 2 and 3 (the harness allows three), each with its result.
        let results = try await harness.results(for: event.id, count: 3)
        #expect(results.map(\.attempt) == [nil, 2, 3])
        #expect(results.allSatisfy { !$0.success })
        let letters = try await harness.deadLetters.wait(timeout: .seconds(30), for: "the exhausted retry request") { records in
            records.contains { (try? RetryRequest.decode($0.value))?.eventID == event.id }
        }
        let letter = try #require(letters.first { (try? RetryRequest.decode($0.value))?.eventID == event.id })
        #expect(letter.headers.last(named: "dlq.error.code")?.stringValue == "ConfigUpdateFailed")
        #expect(letter.headers.last(named: "dlq.source.topic")?.stringValue == PipelineHarness.topics.retry)
        #expect(letter.headers.last(named: "retry.attempt")?.stringValue == "3", "the last attempt made")
        #expect(try RetryRequest.decode(letter.value).configs.map(\.configID) == [String(stuck)])
        #expect(await harness.tenant.isConfigurationActive(stuck) == true)
        #expect(await harness.tenant.isConfigurationActive(client.configurations[1]) == false)
    }

    @Test func anEventRedeliveredAfterItsResultWasPublishedIsNotRunAgain() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(active: 5)
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        let first = try await harness.result(for: event.id).result
        #expect(first.statistics.configsDeactivated == 5)

        // The same event again, as a crash before the offset commit would redeliver it, then a marker behind it.
        let before = harness.runtime.pipeline.statistics.snapshot.alreadyPublished
        try await harness.send(event)
        let marker = harness.event(forClient: client.id, options: .init(dryRun: true, includeArchived: true))
        try await harness.send(marker)
        _ = try await harness.result(for: marker.id)
        #expect(harness.results(for: event.id).count == 1, "no second, disagreeing result")
        #expect(harness.runtime.pipeline.statistics.snapshot.alreadyPublished > before)
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 5)
    }

    @Test func aHangingPSACallShowsAsAStalledPipelineUntilItMovesAgain() async throws {
        let simulator = ConnectWiseSimulator(data: .sample())
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        let psa = try PSASandbox.make(.connectwise, dataset: .empty).configuration(server.baseURL)
        try await withSidePipeline(progressStallTimeout: .milliseconds(500), psa: psa) { harness, send, pipeline in
            await simulator.setLatency(.seconds(3))
            let event = harness.event(forClient: 23456)
            try await send(event, nil)
            let deadline = ContinuousClock.now + .seconds(30)
            var seen: [PipelineHealth.State] = []
            // Health is a function of time: sample it until the stall shows, then until it clears.
            while ContinuousClock.now < deadline, !seen.contains(where: { if case .stalled = $0 { true } else { false } }) {
                seen.append(pipeline.health().state)
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(seen.contains { if case .stalled(let reason) = $0 { reason.contains("no progress") } else { false } })
            await simulator.setLatency(.zero)
            _ = try await harness.result(for: event.id)
            while ContinuousClock.now < deadline, pipeline.health().state != .healthy { try await Task.sleep(for: .milliseconds(50)) }
            #expect(pipeline.health().state == .healthy)
            #expect(pipeline.health().isLive)
        }
        await server.stop()
    }

    /// A topic reader that stops on a fatal error leaves decisions, journals or published results
    /// unread while the poll loop goes on turning: liveness fails, so that the process is restarted.
    /// On a cluster of its own, so that a client left in a fatal state shares no cluster with
    /// other tests; one pipeline for both readers (liveness names the approvals reader first).
    @Test func aTopicReaderStoppedByAFatalErrorMakesThePipelineStalled() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { _ in }
        let pipeline = harness.runtime.pipeline
        do {
            if case .stalled = pipeline.health().state { Issue.record("stalled before the fault: \(pipeline.health().state)") }
            for topic in ["results", "approvals"] {
                let reader = try #require(
                    topic == "results" ? pipeline.views.ledger.withLock { $0 }?.reader : pipeline.views.approvals.withLock { $0 }?.reader)
                await reader.raiseFatalErrorForTesting(reason: "injected by the test")
                try await waitUntil(timeout: .seconds(30), "liveness to fail on the \(topic) reader") {
                    guard case .stalled(let reason) = pipeline.health().state else { return false }
                    return reason.contains("the \(topic) topic reader stopped (kafka fatal)")
                }
                #expect(!pipeline.health().isLive)
                #expect(!"\(pipeline.health().state)".contains("injected"), "the health routes answer anyone: only the kind of error is named")
            }
        } catch {
            try? await harness.stop()
            throw error
        }
        try await harness.stop()
    }

    @Test func aResultThatCanNeverBePublishedIsDeadLetteredAndDoesNotBlockItsPartition() async throws {
        // The producer refuses records over 2,000 bytes, as a broker would refuse an oversized result.
        try await withSidePipeline(producerProperties: ["message.max.bytes": "2000"]) { harness, send, pipeline in
            let big = await harness.makeClient(active: 40)
            let poison = harness.event(forClient: big.id)
            try await send(poison, nil)
            // With the same key, so in the same partition and lane, right behind the poison record.
            let unknown = harness.event(forClient: 990_002)
            try await send(unknown, String(big.id))

            let letters = try await harness.deadLetters.wait(timeout: .seconds(60), for: "the poison record's dead letter") { records in
                records.contains { String(decoding: $0.value ?? [], as: UTF8.self).contains(poison.id) }
            }
            let letter = try #require(letters.first { String(decoding: $0.value ?? [], as: UTF8.self).contains(poison.id) })
            #expect(letter.headers.last(named: "dlq.error.code")?.stringValue == "ProcessingFailed")
            #expect(letter.headers.last(named: "dlq.reason")?.stringValue?.contains("could not be published") == true)
            let after = try await harness.result(for: unknown.id).result
            #expect(after.errors.map(\.code) == [.clientNotFound])
            #expect(pipeline.statistics.snapshot.deadLettered == 1)
            // Both records over 2,000 bytes, the run's journal of 40 configurations (the run goes
            // on without it) and its result, are refused three times: the first send and two more each.
            #expect(pipeline.statistics.snapshot.publishRetries == 4)
        }
    }

    @Test func connectWiseDeactivatesByJSONPatchOfTheClosedStatus() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let client = await harness.makeClient(active: 20)
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        _ = try await harness.result(for: event.id)
        let patches = await simulator.patches(forCompany: client.id)
        #expect(patches.count == 20)
        let inactiveID = ConnectWiseDataset.inactiveConfigurationStatus.id
        for patch in patches {
            let body = try #require(try JSONSerialization.jsonObject(with: Data(patch.body.utf8)) as? [[String: Any]])
            // The status change, and the reason appended to the notes in the same PATCH.
            #expect(body.count == 2)
            #expect(body.first?["op"] as? String == "replace")
            #expect(body.first?["path"] as? String == "status")
            #expect((body.first?["value"] as? [String: Any])?["id"] as? Int == inactiveID)
            #expect(body.last?["path"] as? String == "notes")
            #expect((body.last?["value"] as? String)?.contains("[psa-offboarder]") == true)
        }
        // The note names the event, so a repeated update does not append it twice.
        let notes = await simulator.notes(ofConfiguration: client.configurations[0]) ?? ""
        #expect(notes.contains("(event \(event.id))"))
        #expect(notes.components(separatedBy: "[psa-offboarder]").count == 2)
    }

    @Test func badRecordsGoToTheDeadLetterTopicAndTheConsumerKeepsGoing() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(active: 2)
        let valid = harness.event(forClient: client.id)
        func structured(_ mutate: (inout [String: Any]) -> Void) -> [UInt8] {
            var document = try! JSONSerialization.jsonObject(with: Data(CloudEventEncoder.structured(valid).value)) as! [String: Any]
            mutate(&document)
            return Array(try! JSONSerialization.data(withJSONObject: document))
        }
        func data(_ mutate: (inout [String: Any]) -> Void) -> [UInt8] {
            structured { document in
                var data = document["data"] as! [String: Any]
                mutate(&data)
                document["data"] = data
            }
        }
        let marker = "dlq-\(client.id)"
        let bad: [(String, [UInt8]?, [(String, String)], String)] = [
            ("not JSON", Array("{\"specversion\":".utf8), [], "InvalidEvent"),
            ("no value", nil, [], "InvalidEvent"),
            ("not UTF-8", [0xFF, 0xFE, 0x7B], [], "InvalidEvent"),
            ("array", Array("[1,2]".utf8), [], "InvalidEvent"),
            ("wrong specversion", structured { $0["specversion"] = "0.3" }, [], "InvalidEvent"),
            ("missing id", structured { $0["id"] = nil }, [], "InvalidEvent"),
            ("wrong type", structured { $0["type"] = "psa.ticket.created" }, [], "InvalidEvent"),
            ("missing company_id", data { $0["company_id"] = nil }, [], "InvalidEvent"),
            ("status not a string", data { $0["status"] = 5 }, [], "InvalidEvent"),
            ("unknown psa", data { $0["psa"] = "servicenow" }, [], "InvalidEvent"),
            ("misspelled option", data { $0["options"] = ["dryrun": true] }, [], "InvalidEvent"),
            ("option of wrong type", data { $0["options"] = ["dry_run": "yes"] }, [], "InvalidEvent"),
            ("binary mode without ce_id", Array("{\"psa\":\"connectwise\",\"company_id\":\"1\",\"status\":\"Offboarded\"}".utf8),
             [("ce_specversion", "1.0"), ("ce_source", "x"), ("ce_type", CompanyStatusChangedEvent.eventType)], "InvalidEvent"),
            ("another PSA", data { $0["psa"] = "autotask" }, [], "PSAMismatch"),
        ]
        for (name, value, headers, _) in bad {
            try await harness.sendRaw(key: String(client.id), value: value, headers: headers + [("test.case", "\(marker):\(name)")])
        }
        try await harness.send(valid)

        // The valid event behind all of them on the same partition still gets its result.
        let result = try await harness.result(for: valid.id).result
        #expect(result.success && result.statistics.configsDeactivated == 2)
        let letters = try await harness.deadLetters.wait(timeout: .seconds(30), for: "\(bad.count) dead letters") { records in
            records.filter { $0.headers.last(named: "test.case")?.stringValue?.hasPrefix(marker + ":") == true }.count >= bad.count
        }.filter { $0.headers.last(named: "test.case")?.stringValue?.hasPrefix(marker + ":") == true }
        #expect(letters.count == bad.count)
        for (name, value, _, code) in bad {
            let letter = letters.first { $0.headers.last(named: "test.case")?.stringValue == "\(marker):\(name)" }
            #expect(letter != nil, "\(name) was not dead-lettered")
            #expect(letter?.headers.last(named: "dlq.error.code")?.stringValue == code, "\(name)")
            #expect(letter?.headers.last(named: "dlq.reason")?.stringValue?.isEmpty == false, "\(name)")
            #expect(letter?.headers.last(named: "dlq.source.topic")?.stringValue == PipelineHarness.topics.events)
            #expect(letter?.headers.last(named: "dlq.source.offset").flatMap { $0.stringValue.flatMap(Int64.init) } != nil)
            #expect(letter?.value == value, "\(name): the original value must be kept")
        }
    }
}
