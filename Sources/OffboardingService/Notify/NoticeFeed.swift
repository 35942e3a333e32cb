import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import OffboardingNotify

/// One channel's notices: its own consumer group reads what the service published (results,
/// approvals, dead letters) and, one record at a time, delivers the notice it calls for, then
/// commits past it. The group's committed offsets are the record of what the channel was told: a
/// restart neither repeats a notice that was confirmed nor loses one that was not, and a dead
/// channel holds back only itself.
final class NoticeFeed: Sendable {
    struct Configuration: Sendable {
        var topics: OffboarderConfiguration.Topics
        var console: ConsoleLinks?
        var pollTimeout: Duration = .milliseconds(500)
        /// A committed offset the coordinator refused, or a dead letter the broker refused: wait
        /// this long before trying the same record again.
        var pauseAfterKafkaFailure: Duration = .seconds(2)
    }

    private let configuration: Configuration
    private let consumer: KafkaConsumer
    private let delivery: NoticeDelivery
    private let producer: KafkaProducer
    private let signer: RecordSigner
    private let logger: Logger

    init(
        configuration: Configuration, consumer: KafkaConsumer, delivery: NoticeDelivery, producer: KafkaProducer, signer: RecordSigner, logger: Logger
    ) {
        self.configuration = configuration
        self.consumer = consumer
        self.delivery = delivery
        self.producer = producer
        self.signer = signer
        self.logger = logger
    }

    /// Until the task is cancelled (the service's graceful shutdown); then leaves the group.
    func run() async {
        await feed()
        await consumer.close()
    }

    private func feed() async {
        // Facts already told by this replica: an approval's pending record written twice (a
        // rerun) is told once.
        var told = RecentEntries<Bool>(budget: 256 * 1024, maxCount: 4096)
        while !Task.isCancelled {
            let records: [KafkaRecord]
            do {
                records = try await consumer.poll(maxRecords: 32, timeout: configuration.pollTimeout)
            } catch {
                if error.code == .closed { return }
                logger.warning("notices: poll failed", metadata: ["kafka.error": "\(error)"])
                guard await pause() else { return }
                continue
            }
            for record in records {
                // A record not finished is not committed: after a restart it is read again.
                guard await tell(record, told: &told), await commit(past: record) else { return }
            }
        }
    }

    /// Delivers the notice `record` calls for, if any; false when stopped before it was done.
    private func tell(_ record: KafkaRecord, told: inout RecentEntries<Bool>) async -> Bool {
        guard signer.admits(record, reader: "notices", logger: logger),
            let source = NoticeSourceReader.source(of: record, topics: configuration.topics, seenAt: Date()),
            let notice = Notice.from(source, console: configuration.console), delivery.channel.accepts(notice), !told.contains(notice.id)
        else { return true }
        let metadata: Logger.Metadata = ["notify.notice": "\(notice.kind.rawValue)", "notify.notice.id": "\(notice.id)"]
        switch await delivery.deliver(notice) {
        case .delivered(let answer):
            logger.info("notice delivered", metadata: metadata.merging(["notify.answer": "\(answer)"]) { $1 })
        case .cancelled:
            return false
        case .notDelivered(let answer, let attempts):
            logger.warning(
                "notice not delivered; dead-lettered",
                metadata: metadata.merging(["notify.answer": "\(answer)", "notify.attempts": "\(attempts)"]) { $1 })
            guard await deadLetter(notice, answer: answer, attempts: attempts, source: record) else { return false }
            delivery.countDeadLettered(notice)
        }
        _ = told.set(notice.id, true, size: notice.id.utf8.count)
        return true
    }

    /// The notice as the generic webhook would carry it (no URL, no secret), on the dead-letter
    /// topic with the channel and its last answer; repeated until the broker takes it.
    private func deadLetter(_ notice: Notice, answer: ChannelAnswer, attempts: Int, source: KafkaRecord) async -> Bool {
        let channel = delivery.channel
        let reason = "the \(channel.kind.rawValue) channel \(channel.name) did not take the \(notice.kind.rawValue) notice after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(answer)"
        let record = KafkaOutgoingRecord(
            topic: configuration.topics.deadLetter, key: notice.clientID.map { Array($0.utf8) }, value: StandardWebhook.body(for: notice),
            headers: DeadLetterHeaders.make(code: Notice.notDeliveredCode, reason: reason, source: source) + [
                KafkaHeader(key: "notify.channel", string: channel.name), KafkaHeader(key: "notify.notice", string: notice.kind.rawValue),
                KafkaHeader(key: "notify.notice.id", string: notice.id), KafkaHeader(key: "notify.last_answer", string: answer.description),
            ])
        while !Task.isCancelled {
            do {
                _ = try await producer.send(record)
                return true
            } catch {
                logger.error("notices: dead letter not published; trying again", metadata: ["kafka.error": "\(error)"])
                guard await pause() else { return false }
            }
        }
        return false
    }

    private func commit(past record: KafkaRecord) async -> Bool {
        while !Task.isCancelled {
            do {
                try consumer.storeOffset(KafkaTopicPartition(topic: record.topic, partition: record.partition), nextOffset: record.offset + 1)
                try await consumer.commitStoredOffsets()
                return true
            } catch {
                switch error.code {
                case .closed: return false
                // The partition went to another member: it starts after the last commit.
                case .offsetStore: return true
                default:
                    logger.warning("notices: commit failed; trying again", metadata: ["kafka.error": "\(error)"])
                    guard await pause() else { return false }
                }
            }
        }
        return false
    }

    private func pause() async -> Bool {
        (try? await Task.sleep(for: configuration.pauseAfterKafkaFailure)) != nil
    }
}
