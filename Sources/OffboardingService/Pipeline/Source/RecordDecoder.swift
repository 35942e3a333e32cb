import OffboardingCore
import OffboardingKafka

/// Decodes a record of the events, retry or approvals topic once, where it is read: the chain
/// after it sees only the decoded record.
struct RecordDecoder: Sendable {
    var topics: OffboarderConfiguration.Topics
    var signer: RecordSigner

    func decode(_ record: KafkaRecord) -> InboundRecord {
        switch record.topic {
        case topics.approvals: approvalsRecord(record)
        case topics.retry: retryRecord(record)
        default: eventRecord(record, origin: .events, attempt: 1)
        }
    }

    /// - Parameter signed: whether a retry-topic record is signed; nil on the events topic, where
    ///   only a restore's signature matters (only the service's API asks for one) and only a
    ///   restore's is checked, so that the hot path spends no MAC on other events.
    private func eventRecord(_ record: KafkaRecord, origin: InboundRecord.Origin, attempt: Int, signed: Bool? = nil) -> InboundRecord {
        let content: InboundRecord.Content
        do {
            content = .event(try CloudEventDecoder.decode(value: record.value, headers: record.headerStrings))
        } catch {
            content = .invalid(.invalidEvent, error.message)
        }
        let isRestore = if case .event(let event) = content { event.trigger == .restore } else { false }
        return InboundRecord(origin: origin, content: content, attempt: attempt, signed: signed ?? (isRestore && signer.verifies(record)))
    }

    private func approvalsRecord(_ record: KafkaRecord) -> InboundRecord {
        let signed = signer.verifies(record)
        // A tombstone (a finished run's journal, a decided approval past retention): bookkeeping.
        guard record.value != nil else { return InboundRecord(origin: .approvals, content: .bookkeeping, signed: signed) }
        do {
            guard case .decision(let decision) = try ApprovalMessage.decode(record.value) else {
                return InboundRecord(origin: .approvals, content: .bookkeeping, signed: signed)
            }
            return InboundRecord(origin: .approvals, content: .decision(decision), signed: signed)
        } catch {
            return InboundRecord(origin: .approvals, content: .invalid(.invalidEvent, error.message), signed: signed)
        }
    }

    private func retryRecord(_ record: KafkaRecord) -> InboundRecord {
        let signed = signer.verifies(record)
        let kindHeader = record.headers.last(named: "retry.kind")?.stringValue
        guard let kind = kindHeader.flatMap(RetryKind.init(rawValue:)) ?? (kindHeader == nil ? .configurations : nil) else {
            return InboundRecord(
                origin: .retry, content: .invalid(.invalidEvent, "retry.kind \(kindHeader ?? "") is not event, decision or configurations"), signed: signed)
        }
        if kind == .configurations {
            do {
                let retry = try RetryRequest.decode(record.value)
                return InboundRecord(origin: .retry, content: .retryRequest(retry), attempt: retry.attempt, signed: signed)
            } catch {
                return InboundRecord(origin: .retry, content: .invalid(.invalidEvent, error.message), signed: signed)
            }
        }
        guard let attempt = record.headers.last(named: "retry.attempt")?.stringValue.flatMap(Int.init), RetryRequest.attempts.contains(attempt) else {
            return InboundRecord(origin: .retry, content: .invalid(.invalidEvent, "retry.attempt must be a number from 2 to 1000"), signed: signed)
        }
        if kind == .event { return eventRecord(record, origin: .retry, attempt: attempt, signed: signed) }
        do {
            guard case .decision(let decision) = try ApprovalMessage.decode(record.value) else {
                return InboundRecord(origin: .retry, content: .bookkeeping, attempt: attempt, signed: signed)
            }
            return InboundRecord(origin: .retry, content: .decision(decision), attempt: attempt, signed: signed)
        } catch {
            return InboundRecord(origin: .retry, content: .invalid(.invalidEvent, error.message), attempt: attempt, signed: signed)
        }
    }
}
