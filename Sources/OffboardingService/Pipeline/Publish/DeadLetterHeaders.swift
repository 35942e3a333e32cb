import OffboardingKafka

/// The headers every dead letter carries (`schemas/dead-letter-headers.md`): its code, its reason
/// and where the record was read. Written by the pipeline's publisher and the notice feeds, read
/// by the notice feeds, all through these names.
enum DeadLetterHeaders {
    static let code = "dlq.error.code"
    static let reason = "dlq.reason"
    static let sourceTopic = "dlq.source.topic"

    static func make(code: String, reason: String, source: KafkaRecord) -> [KafkaHeader] {
        [KafkaHeader(key: Self.code, string: code), KafkaHeader(key: Self.reason, string: reason)]
            + OutcomePublisher.sourceHeaders(prefix: "dlq", of: source)
    }
}
