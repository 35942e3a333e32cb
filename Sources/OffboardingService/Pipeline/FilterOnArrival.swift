import OffboardingCore
import OffboardingKafka

/// Events that are not offboardings, decided as they arrive: by the prefilter where librdkafka
/// holds them (never copied), or by the full decoder in the poll loop for what the prefilter
/// leaves; either way with no lane, no task and no lock per record, and their offsets stored once
/// per partition per batch.
extension OffboardingPipeline {
    /// Most events are not offboardings: they are decided where librdkafka holds them, by the
    /// prefilter, and never copied, queued or run; only their offsets are kept.
    func skippingFilteredEvents() -> @Sendable (KafkaConsumer.RecordView) -> Bool {
        guard let statuses = filteringStatuses(configuration.defaults.offboardedStatuses) else { return { _ in false } }
        let prefilter = StatusPrefilter(psa: configuration.psa, offboardedStatuses: statuses)
        let events = configuration.topics.events
        return { record in
            guard record.topic == events, let value = record.value, Self.isStructuredJSON(record) else { return false }
            return prefilter.isFiltered(value)
        }
    }

    /// What the prefilter left (binary mode, escapes, ...) is decided here with the full decoder:
    /// still no lane, no task and no lock per record.
    func isFilteredOnArrival(_ record: KafkaRecord) -> Bool {
        guard record.topic == configuration.topics.events else { return false }
        guard let event = try? CloudEventDecoder.decode(value: record.value, headers: record.headerStrings), event.psa == configuration.psa else { return false }
        return isFiltered(event)
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

    /// Finishes the batch's filtered records and stores their offsets once per partition.
    func completeOnArrival(skipped batch: KafkaConsumer.Batch, filtered: [KafkaRecord]) {
        var ranges = batch.skipped
        for (partition, range) in OffsetTracker.ranges(of: filtered) {
            ranges[partition] = ranges[partition].map { min($0.lowerBound, range.lowerBound)...max($0.upperBound, range.upperBound) } ?? range
        }
        let stores = tracker.finishedOnArrival(ranges)
        let count = batch.skippedCount + filtered.count
        // Only the events topic's records are filtered on arrival.
        statistics.update(topic: configuration.topics.events) {
            $0.received += count
            $0.filtered += count
        }
        do {
            try consumer.storeOffsets(stores)
            statistics.update { $0.offsetsStored += stores.count }
        } catch {
            statistics.update { $0.offsetStoreFailures += stores.count }
            logger.error("offsets not stored; the records are read again after the next rebalance or restart", metadata: ["kafka.error": "\(error)"])
        }
    }

}
