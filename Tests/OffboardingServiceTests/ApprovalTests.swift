import Foundation
import NIOHTTP1
import OffboardingCore
import OffboardingKafka
import OffboardingService
import OffboardingTestSupport
import Testing

/// Approvals end to end: a run that waits, a decision by HTTP or by a record on the approvals
/// topic, and exactly the approved list carried out.
@Suite struct ApprovalTests {
    @Test(arguments: PSAKind.allCases)
    func anApprovalCarriesOutExactlyTheApprovedList(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(active: 5)
        let accepted = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/offboardings", body: APIClient.json(["client_id": String(client.id), "require_approval": true, "reason": "Churned"]))
        let eventID = try #require(accepted.json["event_id"] as? String)
        let pending = try await APIClient.result(harness, eventID: eventID)
        #expect(pending.approval?.state == .pending)
        #expect(pending.approval?.cause == .requested)
        #expect(pending.configs.map(\.action) == Array(repeating: .pendingApproval, count: 5))
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
        let approvalID = try #require(pending.approval?.id)

        // Meanwhile the client gains a configuration and loses one of the listed ones.
        let added = await harness.tenant.addConfigurations(toClient: client.id, count: 1)
        await harness.tenant.removeConfiguration(client.configurations[4])

        let decision = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/approvals/\(approvalID)", body: APIClient.json(["decision": "approve", "approver": "alice", "comment": "ok"]))
        #expect(decision.status == 202)
        let done = try await APIClient.result(harness, eventID: eventID) { $0.approval?.state == .approved }
        #expect(done.approval?.approver == "alice")
        #expect(done.statistics.configsDeactivated == 4, "\(done.errors) \(done.warnings)")
        #expect(done.statistics.configsFound == 4)
        #expect(Set(done.configs.map(\.configID)) == Set(client.configurations.prefix(4).map(String.init)))
        #expect(done.warnings.contains { $0.code == .configNotFound && $0.message.contains(String(client.configurations[4])) })
        for id in client.configurations.prefix(4) { #expect(await harness.tenant.isConfigurationActive(id) == false) }
        // Added after the listing: not approved, not touched.
        #expect(await harness.tenant.isConfigurationActive(added[0]) == true)

        // A second decision changes nothing.
        let again = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/approvals/\(approvalID)", body: APIClient.json(["decision": "reject", "approver": "bob"]))
        #expect(again.status == 409)
    }

    @Test func aDecisionRecordOnTheApprovalsTopicRejects() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(active: 3)
        let event = harness.event(forClient: client.id, options: .init(requireApproval: true))
        try await harness.send(event)
        let pending = try await APIClient.result(harness, eventID: event.id)
        let approvalID = try #require(pending.approval?.id)
        let decision = ApprovalMessage.decision(.init(approvalID: approvalID, decision: .reject, approver: "ops-bot", comment: "wrong client"))
        try await harness.sendRecord(topic: PipelineHarness.topics.approvals, key: approvalID, value: decision.encoded())
        let rejected = try await APIClient.result(harness, eventID: event.id) { $0.approval?.state == .rejected }
        #expect(rejected.approval?.approver == "ops-bot")
        #expect(rejected.warnings.map(\.code).contains(.approvalRejected))
        #expect(rejected.configs.allSatisfy { $0.action == .skipped && $0.skipReason == .approvalRejected })
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
        // Approving afterwards is refused.
        let late = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/approvals/\(approvalID)", body: APIClient.json(["decision": "approve", "approver": "alice"]))
        #expect(late.status == 409)
    }

    @Test func anApprovalLeftWithoutADecisionExpires() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(active: 2)
        let event = harness.event(forClient: client.id, options: .init(requireApproval: true))
        try await harness.send(event)
        let pending = try await APIClient.result(harness, eventID: event.id)
        let expiresAt = try #require(pending.approval?.expiresAt.flatMap(Timestamp.date(from:)))
        #expect(expiresAt.timeIntervalSinceNow > 10)
        // The harness keeps approvals open for 20 s.
        let expired = try await APIClient.result(harness, eventID: event.id, timeout: .seconds(60)) { $0.approval?.state == .expired }
        #expect(expired.warnings.map(\.code).contains(.approvalExpired))
        #expect(Date() >= expiresAt)
        let late = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/approvals/\(pending.approval!.id)", body: APIClient.json(["decision": "approve", "approver": "alice"]))
        #expect(late.status == 409)
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
    }

    @Test func aBadDecisionRecordIsDeadLettered() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let key = "approval-\(UUID().uuidString)"
        try await harness.sendRecord(topic: PipelineHarness.topics.approvals, key: key, value: APIClient.json(["approval_id": key, "decision": "approve"]))
        let letters = try await harness.deadLetters.wait(timeout: .seconds(30), for: "the bad decision") { records in
            records.contains { $0.keyString == key }
        }
        let letter = try #require(letters.first { $0.keyString == key })
        #expect(letter.headers.last(named: "dlq.reason")?.stringValue == "approver is required")
    }
}

/// Decided approvals leave the compacted approvals topic (and every replica's memory) once their
/// retention is over; pending ones stay. The retention is a week by default
/// (`DocumentedDefaultsTests`); here three seconds, looked for every second.
@Suite(.timeLimit(.minutes(3))) struct ApprovalRetentionTests {
    @Test func aDecidedApprovalIsTombstonedOnceItsRetentionIsOverAndAPendingOneIsNot() async throws {
        let retention = Duration.seconds(3)
        let harness = try await PipelineHarness.isolated(.connectwise) { configuration in
            configuration.decidedApprovalRetention = retention
            // The pending one must not expire (and be decided) however slowly the test runs.
            configuration.approvalLifetime = .seconds(3600)
        }
        let approvals = try harness.kafka.collector(of: PipelineHarness.topics.approvals)
        do {
            try await harness.waitForAssignment()
            let decided = await harness.makeClient(active: 2)
            let waiting = await harness.makeClient(active: 2)
            var approvalIDs: [String] = []
            for client in [decided, waiting] {
                let event = harness.event(forClient: client.id, options: .init(requireApproval: true))
                try await harness.send(event)
                approvalIDs.append(try #require(try await APIClient.result(harness, eventID: event.id).approval?.id))
            }
            let rejection = try await APIClient.call(
                .POST, "\(harness.apiBaseURL)/v1/approvals/\(approvalIDs[0])", body: APIClient.json(["decision": "reject", "approver": "alice"]))
            #expect(rejection.status == 202)
            let pipeline = harness.runtime.pipeline
            try await waitUntil(timeout: .seconds(30), "the rejection to be read") { pipeline.approval(approvalIDs[0])?.state == .rejected }
            let decidedAt = try #require(pipeline.approval(approvalIDs[0])?.decision?.decidedAt.flatMap(Timestamp.date(from:)))

            let isTombstone = { (record: KafkaRecord, id: String) in record.keyString == id && record.value == nil }
            let records = try await approvals.wait(timeout: .seconds(60), for: "the decided approval's tombstone") { records in
                records.contains { isTombstone($0, approvalIDs[0]) }
            }
            let tombstone = try #require(records.first { isTombstone($0, approvalIDs[0]) })
            let written = Double(try #require(tombstone.timestampMilliseconds)) / 1000
            #expect(written - decidedAt.timeIntervalSince1970 >= retention.seconds, "not before the retention is over")
            // The reader forgets it; the pending one is neither tombstoned nor forgotten.
            try await waitUntil(timeout: .seconds(30), "the tombstone to be read") { pipeline.approval(approvalIDs[0]) == nil }
            try await approvals.caughtUp()
            #expect(!approvals.records.contains { isTombstone($0, approvalIDs[1]) })
            #expect(pipeline.approval(approvalIDs[1])?.state == .pending)
        } catch {
            await approvals.stop()
            try? await harness.stop()
            throw error
        }
        await approvals.stop()
        try await harness.stop()
    }
}

/// What a restarted or another replica knows: it reads the approvals topic from the beginning.
@Suite struct ApprovalVisibilityTests {
    @Test func aReaderStartedLaterFindsThePendingApproval() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(active: 2)
        let event = harness.event(forClient: client.id, options: .init(requireApproval: true))
        try await harness.send(event)
        let pending = try await APIClient.result(harness, eventID: event.id)
        let approvalID = try #require(pending.approval?.id)
        // A replica that starts now, with nothing but the topic.
        let approvals = try await OffboardingPipeline.readApprovals(
            bootstrapServers: harness.cluster.bootstrapServers, topic: PipelineHarness.topics.approvals, signer: harness.signer, logger: .test())
        let found = try #require(approvals.first { $0.approvalID == approvalID })
        #expect(found.state == .pending)
        #expect(Set(found.configs.map(\.configID)) == Set(client.configurations.map(String.init)))
        #expect(found.clientID == String(client.id))
    }
}
