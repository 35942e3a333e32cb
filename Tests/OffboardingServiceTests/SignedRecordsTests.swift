import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingService
import OffboardingTestSupport
import Testing

/// Records on the service's own topics act only when the service signed them. Whoever else can
/// write to the retry, approvals or results topic (here: the harness's producer without the key)
/// changes nothing on any PSA: a forged retry request, approval, decision or journal is
/// dead-lettered with `UnauthenticatedRecord`, and a forged result is used neither by the ledger
/// nor by a restore.
@Suite struct SignedRecordsTests {
    func deadLetter(_ harness: PipelineHarness, key: String, fromTopic topic: String) async throws -> KafkaRecord {
        let letters = try await harness.deadLetters.wait(timeout: .seconds(60), for: "the dead letter of \(key) from \(topic)") { records in
            records.contains { $0.keyString == key && $0.headers.last(named: "dlq.source.topic")?.stringValue == topic }
        }
        return try #require(letters.last { $0.keyString == key && $0.headers.last(named: "dlq.source.topic")?.stringValue == topic })
    }

    @Test(arguments: PSAKind.allCases)
    func aForgedRetryRequestIsDeadLetteredAndWritesNothing(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        try await harness.waitForAssignment()
        let client = await harness.makeClient(active: 2)
        let forged = RetryRequest(
            eventID: UUID().uuidString, trigger: .event, psa: psa, clientID: String(client.id), clientName: nil, reason: "forged",
            offboardedStatuses: harness.configuration.defaults.offboardedStatuses, attempt: 2, configs: client.configurations.map { .init(configID: String($0), configName: "x") })
        try await harness.sendRecord(topic: PipelineHarness.topics.retry, key: String(client.id), value: forged.encoded(), signed: false)
        let letter = try await deadLetter(harness, key: String(client.id), fromTopic: PipelineHarness.topics.retry)
        #expect(letter.headers.last(named: "dlq.error.code")?.stringValue == "UnauthenticatedRecord")
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
        for id in client.configurations { #expect(await harness.tenant.isConfigurationActive(id) == true) }
        // The same request signed with the service's key is the service's own, and runs.
        try await harness.sendRecord(topic: PipelineHarness.topics.retry, key: String(client.id), value: forged.encoded())
        let results = try await harness.results(for: forged.eventID, count: 1)
        #expect(results.first?.statistics.configsDeactivated == 2)
    }

    @Test(arguments: PSAKind.allCases)
    func aForgedApprovalAndItsDecisionChangeNothing(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        try await harness.waitForAssignment()
        let client = await harness.makeClient(active: 2)
        let approvalID = "approval-forged-\(client.id)"
        let approval = ApprovalRecord(
            approvalID: approvalID, state: .pending, eventID: "forged-\(client.id)", trigger: .api, psa: psa, clientID: String(client.id),
            clientName: nil, reason: "forged", offboardedStatuses: harness.configuration.defaults.offboardedStatuses, cause: .requested, requestedAt: Timestamp.string(Date()),
            expiresAt: Timestamp.string(Date().addingTimeInterval(3600)),
            configs: client.configurations.map { .init(configID: String($0), configName: "x") })
        try await harness.sendRecord(topic: PipelineHarness.topics.approvals, key: approvalID, value: ApprovalMessage.record(approval).encoded(), signed: false)
        let decision = ApprovalDecision(approvalID: approvalID, decision: .approve, approver: "mallory")
        try await harness.sendRecord(topic: PipelineHarness.topics.approvals, key: approvalID, value: ApprovalMessage.decision(decision).encoded(), signed: false)
        let letters = try await harness.deadLetters.wait(timeout: .seconds(60), for: "both forged approval records dead-lettered") { records in
            records.filter { $0.keyString == approvalID }.count >= 2
        }
        #expect(letters.filter { $0.keyString == approvalID }.allSatisfy { $0.headers.last(named: "dlq.error.code")?.stringValue == "UnauthenticatedRecord" })
        // Not known as an approval, so it can be neither listed nor decided.
        #expect(harness.runtime.pipeline.approval(approvalID) == nil)
        let decide = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/approvals/\(approvalID)", body: Array(#"{"decision":"approve","approver":"jane"}"#.utf8))
        #expect(decide.status == 404)
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
    }

    @Test(arguments: PSAKind.allCases)
    func aForgedJournalDoesNotMakeARunReportWhatItDidNotDo(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        try await harness.waitForAssignment()
        // One archived configuration: a forged journal claims an interrupted run deactivated it.
        let client = await harness.makeClient(active: 1, inactive: 1)
        let archived = String(client.configurations[1])
        let event = harness.event(forClient: client.id)
        let journal = RunJournal(
            eventID: event.id, attempt: 1, psa: psa, clientID: String(client.id), startedAt: Timestamp.string(Date()),
            configs: [.init(configID: archived, configName: "archived")])
        try await harness.sendRecord(topic: PipelineHarness.topics.approvals, key: journal.key, value: ApprovalMessage.journal(journal).encoded(), signed: false)
        let letter = try await deadLetter(harness, key: journal.key, fromTopic: PipelineHarness.topics.approvals)
        #expect(letter.headers.last(named: "dlq.error.code")?.stringValue == "UnauthenticatedRecord")
        try await harness.send(event)
        let (_, result) = try await harness.result(for: event.id)
        #expect(result.statistics.configsDeactivated == 1, "only the one it deactivated")
        #expect(!result.warnings.contains { $0.code == .resumedAfterInterruption })
        #expect(result.configs.first { $0.configID == archived }?.action != .deactivated)
    }

    @Test(arguments: PSAKind.allCases)
    func aForgedResultSuppressesNoEventAndIsNeverRestored(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        try await harness.waitForAssignment()
        let client = await harness.makeClient(active: 2)
        let event = harness.event(forClient: client.id)
        // A result for an event that has not happened yet, and one that says the client's active
        // configurations were inactive before an offboarding: a restore would set them inactive.
        func forged(_ eventID: String) throws -> [UInt8] {
            var result = OffboardingResult(
                success: true, eventID: eventID, trigger: .event, psa: psa, clientID: String(client.id), clientName: nil, timestamp: Timestamp.string(Date()),
                dryRun: false, reason: nil)
            result.configs = client.configurations.map {
                var config = OffboardingResult.Config(configID: String($0), configName: "x", status: .inactive, previousStatus: .active, action: .deactivated)
                config.psaPrevious = .init(active: false)
                return config
            }
            result.statistics = .init(configsFound: 2, configsDeactivated: 2)
            return try ResultEncoding.encode(result)
        }
        let restorable = "forged-\(client.id)"
        for id in [event.id, restorable] {
            try await harness.sendRecord(
                topic: PipelineHarness.topics.results, key: String(client.id), value: try forged(id),
                headers: [("offboarding.event.id", id), ("offboarding.event.source", event.source)], signed: false)
        }
        try await harness.send(event)
        let results = try await harness.results(for: event.id, count: 2)
        #expect(results.last?.statistics.configsDeactivated == 2, "the event ran: the forged result did not stand for it")
        // Back to active by hand, then a restore of the forged offboarding: it is unknown.
        let restore = try await APIClient.call(.POST, "\(harness.apiBaseURL)/v1/offboardings/\(restorable)/restore", body: Array("{}".utf8))
        #expect(restore.status == 404)
        #expect(harness.runtime.pipeline.latestResult(for: restorable).isNone, "not served as a result either")
    }

    /// Event ids are each source's own: a result (signed, so the service's) of one source's event
    /// suppresses a redelivery of that event, never another source's event of the same id.
    @Test func oneSourcesResultDoesNotSuppressAnotherSourcesEventOfTheSameID() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let client = await harness.makeClient(active: 1)
        let other = await harness.makeClient(active: 1)
        var first = harness.event(forClient: client.id)
        first.source = "psa/connectwise/first"
        try await harness.send(first)
        _ = try await harness.result(for: first.id)
        // The same id from another source is another event: it runs.
        var second = harness.event(forClient: other.id)
        second.id = first.id
        second.source = "psa/connectwise/second"
        try await harness.send(second)
        let results = try await harness.results(for: first.id, count: 2)
        #expect(Set(results.map(\.clientID)) == [String(client.id), String(other.id)])
        #expect(await harness.tenant.isConfigurationActive(other.configurations[0]) == false)
        // The first source's event again (a redelivery): it has a result, and is not run twice.
        // A later event of the same client (so the same partition) runs after it: once its result
        // is out, the redelivery has been dealt with.
        try await harness.send(first)
        let marker = harness.event(forClient: client.id)
        try await harness.send(marker)
        _ = try await harness.result(for: marker.id)
        #expect(harness.results(for: first.id).count == 2)
    }

    /// A billing consumer can check a result with nothing but the README's description: here
    /// Python's `hmac`, in `scripts/verify-record.py`, accepts a published result, and refuses it
    /// with one byte of its value changed or under another key.
    @Test func aResultIsVerifiedByAnIndependentImplementation() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let client = await harness.makeClient(active: 1)
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        let (record, _) = try await harness.result(for: event.id)
        func verify(_ record: KafkaRecord, keys: [String]) async throws -> (status: Int32, output: String) {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("record-\(UUID().uuidString).json")
            let json: [String: Any] = [
                "topic": record.topic, "key": record.key.map { Data($0).base64EncodedString() } ?? NSNull(),
                "value": record.value.map { Data($0).base64EncodedString() } ?? NSNull(),
                "headers": record.headers.map { [$0.key, $0.value.map { Data($0).base64EncodedString() } ?? NSNull()] as [Any] },
            ]
            try JSONSerialization.data(withJSONObject: json).write(to: file)
            let process = try OffboarderProcess(
                arguments: ["python3", Repository.file("scripts/verify-record.py").path, file.path],
                environment: ["OFFBOARDER_SIGNING_KEYS": keys.joined(separator: "\n")], executable: "/usr/bin/env")
            let status = await process.waitForExit(timeout: .seconds(60))
            return (status, process.stdout)
        }
        let valid = try await verify(record, keys: ["another-key-that-signs-nothing-0123456789", PipelineHarness.signingKey])
        #expect(valid.status == 0 && valid.output.contains("valid"), "\(valid.output)")
        var tampered = record
        tampered.value = (record.value ?? []).map { $0 == UInt8(ascii: "1") ? UInt8(ascii: "2") : $0 }
        #expect(tampered.value != record.value)
        #expect(try await verify(tampered, keys: [PipelineHarness.signingKey]).status == 1)
        #expect(try await verify(record, keys: ["another-key-that-signs-nothing-0123456789"]).status == 1)
    }

    /// What the MAC covers and how keys rotate, without a broker: the record as read back is the
    /// record as written, with the signature appended.
    @Test func theSignatureCoversTopicKeyValueAndHeadersAndKeysRotate() {
        let (old, new) = (Array(String(repeating: "o", count: 40).utf8), Array(String(repeating: "n", count: 40).utf8))
        var outgoing = KafkaOutgoingRecord(
            topic: "psa.offboarding.retry", key: "42", value: Array(#"{"attempt":2}"#.utf8),
            headers: [KafkaHeader(key: "retry.attempt", string: "2"), KafkaHeader(key: "traceparent", string: "00-a-b-01")])
        RecordSigner(keys: [old]).sign(&outgoing)
        let read = KafkaRecord(topic: outgoing.topic, partition: 0, offset: 7, key: outgoing.key, value: outgoing.value, headers: outgoing.headers)
        #expect(RecordSigner(keys: [old]).verifies(read))
        #expect(RecordSigner(keys: [new, old]).verifies(read), "after a rotation, records signed by the old key still verify")
        #expect(!RecordSigner(keys: [new]).verifies(read), "once the old key is dropped, they do not")
        func changed(_ change: (inout KafkaRecord) -> Void) -> Bool {
            var copy = read
            change(&copy)
            return RecordSigner(keys: [old]).verifies(copy)
        }
        #expect(!changed { $0.topic = "psa.offboarding.approvals" }, "moved to another topic")
        #expect(!changed { $0.key = Array("43".utf8) }, "another client")
        #expect(!changed { $0.value = Array(#"{"attempt":3}"#.utf8) })
        #expect(!changed { $0.headers[0] = KafkaHeader(key: "retry.attempt", string: "9") })
        #expect(!changed { $0.headers.insert(KafkaHeader(key: "retry.due", string: "2099-01-01T00:00:00Z"), at: 1) }, "a header added")
        #expect(!changed { $0.headers.removeAll { $0.key == RecordSigner.header } }, "no signature")
        #expect(changed { $0.headers[1] = KafkaHeader(key: "traceparent", string: "00-c-d-01") }, "tracing may rewrite its header")
        // A record signed again (moved to the dead-letter topic) carries one signature, the new one.
        var moved = outgoing
        moved.topic = "psa.offboarding.dlq"
        RecordSigner(keys: [new]).sign(&moved)
        #expect(moved.headers.filter { $0.key == RecordSigner.header }.count == 1)
        #expect(RecordSigner(keys: [new]).verifies(KafkaRecord(topic: moved.topic, partition: 0, offset: 0, key: moved.key, value: moved.value, headers: moved.headers)))
    }
}

extension OffboardingPipeline.HeldResult {
    var isNone: Bool { if case .none = self { true } else { false } }
}
