import Foundation
import OffboardingCore
import OffboardingKafka
import Testing

@testable import OffboardingService

/// The source's decoder alone, on records built in memory: what each topic's record becomes, with
/// the attempt and the signature the admission then judges.
@Suite struct RecordDecoderTests {
    static let topics = OffboarderConfiguration.Topics(events: "events", results: "results", deadLetter: "dlq", retry: "retry", approvals: "approvals")
    let signer = RecordSigner(keys: [Array("decoder-test-key-0123456789abcdef".utf8)])
    var decoder: RecordDecoder { RecordDecoder(topics: Self.topics, signer: signer) }

    /// The record as a consumer would read it, signed by the service or not.
    func record(_ outgoing: KafkaOutgoingRecord, signed: Bool) -> KafkaRecord {
        var outgoing = outgoing
        if signed { signer.sign(&outgoing) }
        return KafkaRecord(topic: outgoing.topic, partition: 0, offset: 7, key: outgoing.key, value: outgoing.value, headers: outgoing.headers)
    }

    func event(trigger: OffboardingTrigger = .event) -> CompanyStatusChangedEvent {
        CompanyStatusChangedEvent(id: "e-1", source: "/t", psa: .connectwise, companyID: "42", status: "Offboarded", trigger: trigger, restores: trigger == .restore ? "e-0" : nil)
    }

    @Test func anEventIsDecodedOnceAndOnlyARestoresSignatureIsChecked() throws {
        let plain = decoder.decode(record(.event(event(), topic: "events"), signed: true))
        guard case .event(let decoded) = plain.content else {
            Issue.record("an event decodes as one")
            return
        }
        #expect(decoded.id == "e-1" && plain.origin == .events && plain.attempt == 1)
        #expect(!plain.signed, "an ordinary event's signature is not checked on the hot path")
        #expect(decoder.decode(record(.event(event(trigger: .restore), topic: "events"), signed: true)).signed)
        #expect(!decoder.decode(record(.event(event(trigger: .restore), topic: "events"), signed: false)).signed)
        guard case .invalid(.invalidEvent, _) = decoder.decode(record(KafkaOutgoingRecord(topic: "events", key: "42", value: Array("{not json".utf8)), signed: false)).content else {
            Issue.record("bytes that are no event are invalid")
            return
        }
    }

    @Test func aRetryRecordCarriesItsKindAndAttempt() throws {
        let retry = RetryRequest(
            eventID: "e-1", trigger: .event, psa: .connectwise, clientID: "42", clientName: nil, reason: nil, offboardedStatuses: ["Offboarded"], attempt: 4,
            configs: [.init(configID: "7", configName: "fw")])
        let request = decoder.decode(record(KafkaOutgoingRecord(topic: "retry", key: "42", value: retry.encoded()), signed: true))
        guard case .retryRequest(let decoded) = request.content else {
            Issue.record("a record without retry.kind is a retry request")
            return
        }
        #expect(decoded.configs.map(\.configID) == ["7"] && request.attempt == 4 && request.signed && request.origin == .retry)

        var moved = KafkaOutgoingRecord.event(event(), topic: "retry")
        moved.headers += [KafkaHeader(key: "retry.kind", string: "event"), KafkaHeader(key: "retry.attempt", string: "3")]
        let event = decoder.decode(record(moved, signed: false))
        guard case .event = event.content else {
            Issue.record("retry.kind event is the event as it was read")
            return
        }
        #expect(event.attempt == 3 && !event.signed)

        var outOfRange = moved
        outOfRange.headers = outOfRange.headers.filter { $0.key != "retry.attempt" } + [KafkaHeader(key: "retry.attempt", string: "\(Int.max)")]
        guard case .invalid(_, let reason) = decoder.decode(record(outOfRange, signed: true)).content else {
            Issue.record("an attempt out of range is refused")
            return
        }
        #expect(reason.contains("retry.attempt"))
        var unknownKind = moved
        unknownKind.headers = unknownKind.headers.filter { $0.key != "retry.kind" } + [KafkaHeader(key: "retry.kind", string: "other")]
        guard case .invalid(_, let kindReason) = decoder.decode(record(unknownKind, signed: true)).content else {
            Issue.record("an unknown kind is refused")
            return
        }
        #expect(kindReason.contains("retry.kind other"))
    }

    @Test func theApprovalsTopicHoldsDecisionsAndBookkeeping() throws {
        let decision = ApprovalDecision(approvalID: "approval-e-1", decision: .approve, approver: "amy")
        let decided = decoder.decode(record(KafkaOutgoingRecord(topic: "approvals", key: "approval-e-1", value: ApprovalMessage.decision(decision).encoded()), signed: true))
        guard case .decision(let read) = decided.content else {
            Issue.record("a decision decodes as one")
            return
        }
        #expect(read.approver == "amy" && decided.signed && decided.origin == .approvals)
        let tombstone = decoder.decode(record(KafkaOutgoingRecord(topic: "approvals", key: "approval-e-1", value: nil), signed: false))
        guard case .bookkeeping = tombstone.content else {
            Issue.record("a tombstone is bookkeeping")
            return
        }
        #expect(!tombstone.signed)
        let revocation = SessionRevocation(session: "s", until: Timestamp.string(Date()))
        guard case .bookkeeping = decoder.decode(record(KafkaOutgoingRecord(topic: "approvals", key: revocation.key, value: ApprovalMessage.sessionRevoked(revocation).encoded()), signed: true)).content else {
            Issue.record("a sign-out is the store's")
            return
        }
    }
}
