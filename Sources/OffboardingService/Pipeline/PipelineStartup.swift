import Logging
import OffboardingCore
import OffboardingKafka

/// What the pipeline reads before its first record: the results topic's tail and the whole
/// approvals topic.
extension OffboardingPipeline {
    /// Reads the results topic's tail before the first event, so that events whose result is
    /// already published (the offset was not committed before a crash) are not run again.
    func startLedger() async -> ResultLedger? {
        guard configuration.skipEventsWithResults else { return nil }
        do {
            let partitions = try await producer.partitionCount(of: configuration.topics.results)
            let ledger = try ResultLedger(
                bootstrapServers: configuration.consumer.bootstrapServers, topic: configuration.topics.results, partitionCount: partitions,
                properties: configuration.readerProperties, tail: 10_000, signer: configuration.signer, logger: logger)
            do {
                try await ledger.catchUp(timeout: .seconds(60))
            } catch {
                await ledger.stop()
                throw error
            }
            logger.info("results already published", metadata: ["pipeline.ledger.events": "\(ledger.count)"])
            return ledger
        } catch {
            // At-least-once still holds without it; only a repeated run after a crash is not avoided.
            logger.error("results topic not read; events redelivered after a crash may run again", metadata: ["kafka.error": "\(error)"])
            return nil
        }
    }

    /// Reads the company statuses the PSA calls inactive whatever their name, so that the event
    /// filter lets them through. Without them no event is filtered by its status alone: the runs
    /// ask the PSA, which costs a read per event but loses no offboarding. A status renamed or
    /// flagged later is let through after a restart, and found by the sweep meanwhile.
    func readInactiveStatusNames() async {
        guard configuration.criteria.statusIsRequired else { return }
        do {
            let names = try await offboarder.psa.inactiveStatusNames()
            views.inactiveStatusNames.withLock { $0 = names }
            if !names.isEmpty { logger.info("company statuses the PSA flags inactive", metadata: ["psa.statuses": "\(names)"]) }
        } catch {
            views.inactiveStatusNames.withLock { $0 = nil }
            logger.error("inactive company statuses not read; every status-change event is checked in the PSA", metadata: ["psa.error": "\(error)"])
        }
    }

    /// Reads the whole approvals topic before the first record, so that every pending approval
    /// and every interrupted run's journal is known.
    func startApprovals() async throws -> ApprovalsTopicView {
        let topic = configuration.topics.approvals
        let partitions = try await producer.partitionCount(of: topic)
        let store = try ApprovalsTopicView(
            bootstrapServers: configuration.consumer.bootstrapServers, topic: topic, partitionCount: partitions, properties: configuration.readerProperties,
            signer: configuration.signer, logger: logger)
        do {
            try await store.catchUp(timeout: .seconds(120))
        } catch {
            await store.stop()
            throw error
        }
        logger.info("approvals read", metadata: ["pipeline.approvals": "\(store.count)", "pipeline.journals": "\(store.journalCount)"])
        return store
    }

    /// Every approval on the topic, read from the beginning as a starting replica reads it.
    public static func readApprovals(bootstrapServers: String, topic: String, signer: RecordSigner, logger: Logger) async throws -> [ApprovalRecord] {
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrapServers), logger: logger)
        let partitions = try await producer.partitionCount(of: topic)
        await producer.shutdown()
        let store = try ApprovalsTopicView(
            bootstrapServers: bootstrapServers, topic: topic, partitionCount: partitions, properties: [:], signer: signer, logger: logger)
        do {
            try await store.catchUp(timeout: .seconds(60))
        } catch {
            await store.stop()
            throw error
        }
        let all = store.all
        await store.stop()
        return all
    }
}
