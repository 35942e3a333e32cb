import OffboardingCore
import OffboardingKafka

/// Events that are not offboardings, decided as they arrive with the admission's own filter rule:
/// by the prefilter where librdkafka holds them (never copied), or on the decoded record for what
/// the prefilter leaves; either way with no lane, no task and no lock per record.
struct ArrivalFilter: Sendable {
    let eventsTopic: String
    let admission: Admission

    /// The prefilter, for the records librdkafka holds; false for every record when an event's
    /// status alone cannot decide.
    func prefilter() -> @Sendable (KafkaConsumer.RecordView) -> Bool {
        guard let statuses = admission.filteringStatuses() else { return { _ in false } }
        let prefilter = StatusPrefilter(psa: admission.psa, offboardedStatuses: statuses)
        let events = eventsTopic
        return { record in
            guard record.topic == events, let value = record.value, Self.isStructuredJSON(record) else { return false }
            return prefilter.isFiltered(value)
        }
    }

    /// What the prefilter left (binary mode, escapes, ...), decided on the decoded record.
    func isFiltered(_ record: InboundRecord) -> Bool {
        guard record.origin == .events, case .event(let event) = record.content else { return false }
        return admission.isFiltered(event)
    }

    /// Structured mode with a JSON content type (or none), as the prefilter expects.
    private static func isStructuredJSON(_ record: KafkaConsumer.RecordView) -> Bool {
        var structured = true
        record.forEachHeader { name, value in
            if Self.equalsIgnoringCase(name, "ce_specversion") {
                structured = false
            } else if Self.equalsIgnoringCase(name, "content-type") {
                guard let value, value.starts(with: "application/cloudevents+json".utf8) || value.starts(with: "application/json".utf8) else {
                    structured = false
                    return false
                }
            }
            return structured
        }
        return structured
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard ((0x41...0x5A).contains(byte) ? byte | 0x20 : byte) == lowercase.utf8Start[index] else { return false }
        }
        return true
    }
}
