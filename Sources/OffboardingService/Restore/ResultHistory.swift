import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import Synchronization

/// Every result published for one event, read from the results topic from its beginning. A
/// restore needs an offboarding's first result and all its follow-ups (retries, an approval's
/// outcome) however old they are, while the result ledger holds only the latest of recent events.
/// A restore is rare and manual: one read of the topic per restore is its cost (see the README).
enum ResultHistory {
    static func results(
        of eventID: String, bootstrapServers: String, topic: String, partitionCount: Int32, properties: [String: String], signer: RecordSigner,
        timeout: Duration = .seconds(120), logger: Logger
    ) async throws -> [OffboardingResult] {
        let found = Mutex<[(partition: Int32, offset: Int64, value: [UInt8])]>([])
        let wanted = Array(eventID.utf8)
        // A read of the whole topic needs no deep prefetch: librdkafka's default queues up to 64 MiB
        // per partition, which a few restores at once would multiply.
        var bounded = properties
        bounded["queued.max.messages.kbytes"] = String(Self.prefetchKilobytes)
        let reader = try TopicReader(
            bootstrapServers: bootstrapServers, topic: topic, partitionCount: partitionCount, groupID: "psa-offboarder-restore", start: .beginning,
            properties: bounded, logger: logger)
        reader.start { record in
            guard let value = record.value else { return }
            // The header names the event without decoding; results published without it are
            // decoded only when their bytes hold the id at all.
            if let header = record.headers.last(named: "offboarding.event.id")?.stringValue {
                guard header == eventID else { return }
            } else if !Self.contains(value, wanted) {
                return
            }
            // A restore puts back what a result says was there: only a result the service signed says so.
            guard signer.admits(record, reader: "restore", logger: logger) else { return }
            found.withLock { $0.append((record.partition, record.offset, value)) }
        }
        do {
            try await reader.catchUp(timeout: timeout)
        } catch {
            await reader.stop()
            throw error
        }
        await reader.stop()
        // An event's results share its client's key, so a partition: offset order is publishing order.
        let records = found.withLock { $0 }.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        var results: [OffboardingResult] = []
        for record in records {
            do {
                let result = try ResultEncoding.decode(record.value)
                if result.eventID == eventID { results.append(result) }
            } catch {
                logger.warning(
                    "a record on the results topic could not be read as a result",
                    metadata: ["kafka.partition": "\(record.partition)", "kafka.offset": "\(record.offset)"])
            }
        }
        return results
    }

    /// What a restore's reader prefetches per partition, at most (librdkafka: 64 MiB).
    static let prefetchKilobytes = 1024

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, bytes.count >= needle.count else { return false }
        return bytes.withUnsafeBufferPointer { buffer in
            (0...(buffer.count - needle.count)).contains { start in buffer[start] == needle[0] && buffer[start..<(start + needle.count)].elementsEqual(needle) }
        }
    }
}
