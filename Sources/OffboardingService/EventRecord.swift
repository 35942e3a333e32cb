import OffboardingCore
import OffboardingKafka

extension KafkaOutgoingRecord {
    /// A company-status-changed event as a record of the events topic, keyed by the company id.
    public static func event(_ event: CompanyStatusChangedEvent, topic: String, binary: Bool = false) -> KafkaOutgoingRecord {
        let (headers, value) = binary ? CloudEventEncoder.binary(event) : CloudEventEncoder.structured(event)
        return KafkaOutgoingRecord(topic: topic, key: event.companyID, value: value, headers: headers.map { KafkaHeader(key: $0.0, string: $0.1) })
    }
}
