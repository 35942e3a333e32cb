import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import ServiceLifecycle
import Synchronization

/// The consumer service: it wires the chain together and runs it until stopped. A record flows one
/// way: the `RecordSource` polls it and decodes it once; the `Admission` decides whether and how it
/// runs; the `RunDriver` runs it (journal, outage wait); the `OutcomePublisher` writes what it ended
/// in; the `OffsetCommitter` stores its offset once that end is final. `RecordProcessor` is the one
/// place a record's end is decided. Records of one key run in order (`RecordLanes`); different
/// keys run concurrently.
///
/// The approvals topic is consumed by a second consumer in the group `{group_id}.approvals`
/// (in the main group, the assignor balances partition counts over all topics and could leave a
/// member without event partitions): a decision record carries out (or declines) the pending
/// approval it names, on the member that owns its partition; that member also expires approvals
/// left without a decision (`ApprovalExpiry`).
public final class OffboardingPipeline: Service, Sendable {
    public struct Configuration: Sendable {
        public var consumer: KafkaConsumer.Configuration
        public var topics: OffboarderConfiguration.Topics
        /// Signs what the pipeline writes (through its producer) and checks what it reads back from
        /// its own topics: a retry, approval or journal record, a result or a restore request
        /// without a valid signature is not acted on.
        public var signer: RecordSigner
        public var psa: PSAKind
        public var defaults: OffboardingOptions
        /// What makes a client offboarded; its statuses are `defaults.offboardedStatuses`.
        public var criteria: OffboardingCriteria
        /// Records fetched and not yet finished, at most.
        public var maxInFlightRecords: Int
        public var pollTimeout: Duration
        /// Names this process in the `offboarding.instance` header of what it publishes.
        public var instanceID: String
        public static var defaultInstanceID: String { "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)" }
        /// While the PSA cannot be reached, a record is tried again after this, doubling up to
        /// `maxOutageBackoff`; its offset stays unstored meanwhile.
        public var outageBackoff: Duration
        public var maxOutageBackoff: Duration
        /// How long a record waits out an outage in place before it moves to the retry topic
        /// (`retry.outage_max_wait`).
        public var outageMaxWait: Duration = Self.defaultOutageMaxWait
        public static let defaultOutageMaxWait: Duration = .seconds(15 * 60)
        public static let defaultOutageBackoff: Duration = .seconds(1)
        public static let defaultMaxOutageBackoff: Duration = .seconds(60)
        /// Attempts per event, the first included, before configurations still failing go to the
        /// dead-letter topic; the retry topic carries attempts 2 and on.
        public var retryTopicMaxAttempts: Int = Self.defaultRetryTopicMaxAttempts
        public static let defaultRetryTopicMaxAttempts = 5
        /// The wait before attempt 2, doubled for each further attempt up to `retryTopicMaxDelay`.
        public var retryTopicInitialDelay: Duration = Self.defaultRetryTopicInitialDelay
        public static let defaultRetryTopicInitialDelay: Duration = .seconds(60)
        public var retryTopicMaxDelay: Duration = Self.defaultRetryTopicMaxDelay
        public static let defaultRetryTopicMaxDelay: Duration = .seconds(3600)
        /// Skip events whose result is already on the results topic (see `ResultLedger`).
        public var skipEventsWithResults: Bool = true
        /// How often approvals past their expiry are looked for.
        public var approvalExpiryInterval: Duration = Self.defaultApprovalExpiryInterval
        public static let defaultApprovalExpiryInterval: Duration = .seconds(30)
        /// How long a decided approval stays on the approvals topic before it is tombstoned (its
        /// result, with the decision, is on the results topic).
        public var decidedApprovalRetention: Duration = Self.defaultDecidedApprovalRetention
        public static let defaultDecidedApprovalRetention: Duration = .seconds(7 * 86_400)
        /// The poll loop is stalled when it has not turned for this long.
        public var pollStallTimeout: Duration
        public static let defaultPollStallTimeout: Duration = .seconds(60)
        /// Work in flight is stalled when no record finished and no PSA call returned for this long.
        public var progressStallTimeout: Duration
        public static let defaultProgressStallTimeout: Duration = .seconds(300)
        /// How long a revocation waits for the revoked partitions' running records to finish.
        public var revocationGrace: Duration = Self.defaultRevocationGrace
        public static let defaultRevocationGrace: Duration = .seconds(15)
        /// How long a stop lets running records finish before it cancels them (`shutdown.grace`);
        /// Kubernetes' default termination grace is 30 s.
        public var shutdownGrace: Duration = Self.defaultShutdownGrace
        public static let defaultShutdownGrace: Duration = .seconds(20)
        /// How often the Kafka clients' statistics (the consumers' lag per partition, the broker
        /// counters) are read for `/metrics` (librdkafka's `statistics.interval.ms`, which
        /// `kafka.properties` can set instead).
        public var statisticsInterval: Duration = .seconds(5)

        public init(
            consumer: KafkaConsumer.Configuration, topics: OffboarderConfiguration.Topics, psa: PSAKind, defaults: OffboardingOptions, signer: RecordSigner,
            maxInFlightRecords: Int = 512, pollTimeout: Duration = .milliseconds(100), instanceID: String = Self.defaultInstanceID,
            outageBackoff: Duration = Self.defaultOutageBackoff, maxOutageBackoff: Duration = Self.defaultMaxOutageBackoff,
            pollStallTimeout: Duration = Self.defaultPollStallTimeout, progressStallTimeout: Duration = Self.defaultProgressStallTimeout
        ) {
            self.pollStallTimeout = pollStallTimeout
            self.progressStallTimeout = progressStallTimeout
            self.instanceID = instanceID
            self.outageBackoff = outageBackoff
            self.maxOutageBackoff = maxOutageBackoff
            self.consumer = consumer
            self.topics = topics
            self.signer = signer
            self.psa = psa
            self.defaults = defaults
            self.criteria = OffboardingCriteria(statuses: defaults.offboardedStatuses)
            self.maxInFlightRecords = max(1, maxInFlightRecords)
            self.pollTimeout = pollTimeout
        }

        var publishing: OutcomePublisher.Configuration {
            .init(
                topics: topics, psa: psa, instanceID: instanceID, retryTopicMaxAttempts: retryTopicMaxAttempts, retryTopicInitialDelay: retryTopicInitialDelay,
                retryTopicMaxDelay: retryTopicMaxDelay)
        }

        /// What the reads of the service's own topics use: the consumer's properties without its group.
        var readerProperties: [String: String] {
            var properties = consumer.properties
            properties.removeValue(forKey: "group.id")
            return properties
        }
    }

    public let statistics = PipelineStatistics()
    /// The Kafka clients' broker trouble that librdkafka rode out (retried requests, lost connections).
    public let kafkaClients: KafkaClientCounters
    let heartbeat = PipelineHeartbeat()
    let views = PipelineViews()
    let configuration: Configuration
    let consumer: KafkaConsumer
    let approvalsConsumer: KafkaConsumer
    let producer: KafkaProducer
    let offboarder: Offboarder
    let logger: Logger
    let stopSignal = StopSignal()
    let publisher: OutcomePublisher
    let restores: RestoreLookup
    private let lanes: RecordLanes
    private let source: RecordSource
    private let expiry: ApprovalExpiry

    /// - Parameter kafkaClients: counts the consumers' broker trouble, beside the producer's.
    public init(
        configuration: Configuration, producer: KafkaProducer, offboarder: Offboarder, kafkaClients: KafkaClientCounters = KafkaClientCounters(),
        logger: Logger
    ) throws(KafkaError) {
        self.configuration = configuration
        self.kafkaClients = kafkaClients
        self.producer = producer
        let heartbeat = self.heartbeat
        let offboarder = offboarder.reportingProgress { _ in heartbeat.progressed() }
        self.offboarder = offboarder
        self.logger = logger
        let tracker = OffsetTracker()
        let statistics = self.statistics
        let lagGauges = ConsumerLagGauges()
        let rebalance = Self.rebalanceHandler(tracker: tracker, grace: configuration.revocationGrace, lagGauges: lagGauges, statistics: statistics, logger: logger)
        var events = configuration.consumer
        events.statisticsInterval = configuration.statisticsInterval
        let consumer = try KafkaConsumer(configuration: events, logger: logger, onRebalance: rebalance) { [group = events.groupID] in
            lagGauges.record($0, group: group)
            kafkaClients.record($0.brokers, client: "consumer")
        }
        var approvals = events
        approvals.groupID += ".approvals"
        approvals.consumption = .group(topics: [configuration.topics.approvals])
        let approvalsConsumer = try KafkaConsumer(configuration: approvals, logger: logger, onRebalance: rebalance) { [group = approvals.groupID] in
            lagGauges.record($0, group: group)
            kafkaClients.record($0.brokers, client: "approvals-consumer")
        }
        self.consumer = consumer
        self.approvalsConsumer = approvalsConsumer

        let views = self.views
        let stopSignal = self.stopSignal
        let committer = OffsetCommitter(
            tracker: tracker, events: consumer, approvals: approvalsConsumer, approvalsTopic: configuration.topics.approvals, statistics: statistics, logger: logger)
        let publisher = OutcomePublisher(
            configuration: configuration.publishing, sending: KafkaSending(producer: producer, stopSignal: stopSignal, statistics: statistics, patience: nil),
            views: views)
        self.publisher = publisher
        let restores = RestoreLookup(
            configuration: .init(
                bootstrapServers: configuration.consumer.bootstrapServers, resultsTopic: configuration.topics.results, properties: configuration.readerProperties,
                signer: configuration.signer),
            producer: producer, views: views, reads: RestoreReads(), logger: logger)
        self.restores = restores
        let driver = RunDriver(
            configuration: .init(
                outageBackoff: configuration.outageBackoff, maxOutageBackoff: configuration.maxOutageBackoff, outageMaxWait: configuration.outageMaxWait),
            offboarder: offboarder, publisher: publisher, restores: restores, views: views, heartbeat: heartbeat, stopSignal: stopSignal)
        let admission = Admission(psa: configuration.psa, defaults: configuration.defaults, criteria: configuration.criteria)
        let processor = RecordProcessor(
            admission: { views.current(admission) },
            views: views, driver: driver, publisher: publisher, committer: committer, tracker: tracker, statistics: statistics, logger: logger)
        let lanes = RecordLanes(heartbeat: heartbeat) { await processor.process($0) }
        self.lanes = lanes
        self.source = RecordSource(
            configuration: .init(
                topics: configuration.topics, maxInFlightRecords: configuration.maxInFlightRecords, pollTimeout: configuration.pollTimeout,
                retryTopicMaxDelay: configuration.retryTopicMaxDelay),
            consumer: consumer, approvalsConsumer: approvalsConsumer, decoder: RecordDecoder(topics: configuration.topics, signer: configuration.signer),
            tracker: tracker, lanes: lanes, committer: committer, statistics: statistics, heartbeat: heartbeat, stopSignal: stopSignal, logger: logger,
            onAssignment: { Self.readJournalsOfPreviousOwners(views: views, logger: logger) })
        self.expiry = ApprovalExpiry(
            interval: configuration.approvalExpiryInterval, decidedRetention: configuration.decidedApprovalRetention, psa: configuration.psa,
            approvalsTopic: configuration.topics.approvals, consumer: approvalsConsumer, offboarder: offboarder, publisher: publisher, stopSignal: stopSignal,
            logger: logger)
    }

    /// Partitions assigned, revoked or lost: the offset tracker follows, and a revocation waits (on
    /// the consumer's own queue, holding the rebalance) until the running records have stored their offsets.
    private static func rebalanceHandler(
        tracker: OffsetTracker, grace: Duration, lagGauges: ConsumerLagGauges, statistics: PipelineStatistics, logger: Logger
    ) -> @Sendable (KafkaConsumer.RebalanceEvent) -> Void {
        { event in
            switch event {
            case .assigned(let partitions):
                tracker.assign(partitions)
            case .revoked(let partitions):
                lagGauges.remove(partitions)
                let (awaited, unfinished) = tracker.revoke(partitions, grace: grace)
                statistics.update { $0.awaitedAtRevocation += awaited }
                if unfinished > 0 {
                    logger.warning("partitions revoked with records still running; their next owner runs them again", metadata: ["pipeline.records": "\(unfinished)"])
                }
            case .lost(let partitions):
                lagGauges.remove(partitions)
                tracker.revoke(partitions)
            }
        }
    }

    /// A partition taken over from another member may hold a record whose run was interrupted
    /// there: before its records run, the approvals topic is read to its end, so that the run's
    /// journal is known.
    private static func readJournalsOfPreviousOwners(views: PipelineViews, logger: Logger) {
        guard let store = views.approvals.withLock({ $0 }) else { return }
        let reading = Task {
            do {
                try await store.catchUp(timeout: .seconds(30))
            } catch {
                logger.warning("approvals topic not read to its end after an assignment; an interrupted run may not be recognised", metadata: ["kafka.error": "\(error)"])
            }
        }
        views.journalsRead.withLock { $0 = reading }
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await consumeUntilStopped()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Stops fetching; records already running get `shutdownGrace` to finish, queued ones are
    /// left for redelivery.
    public func stop() {
        stopSignal.stop()
        lanes.drain()
    }

    private func consumeUntilStopped() async throws {
        logger.info("consumer pipeline starting", metadata: ["kafka.librdkafka.version": "\(RDKafkaVersion.string)"])
        let ledger = await startLedger()
        views.ledger.withLock { $0 = ledger }
        await readInactiveStatusNames()
        let store: ApprovalsTopicView
        do {
            // Without it a decision could not be told from an unknown approval: do not start.
            store = try await startApprovals()
        } catch {
            logger.critical("approvals topic not read", metadata: ["kafka.error": "\(error)", "kafka.topic": "\(configuration.topics.approvals)"])
            heartbeat.stopped()
            await ledger?.stop()
            await consumer.close()
            await approvalsConsumer.close()
            throw error
        }
        views.approvals.withLock { $0 = store }
        let filter = ArrivalFilter(eventsTopic: configuration.topics.events, admission: admission)
        let failure: (any Error)? = await withDiscardingTaskGroup { group -> (any Error)? in
            group.addTask { await self.expiry.run(store) }
            group.addTask {
                if await self.source.pollApprovals() != nil { self.stop() }
            }
            let failure = await source.pollEvents(filter: filter, startingLanesIn: &group)
            if failure != nil { stop() }
            if !(await drainWithinGrace()) {
                // Cancelled work publishes nothing and stores no offset: it is redelivered, and
                // its journal lets the rerun report what it had already changed.
                group.cancelAll()
            }
            return failure
        }
        statistics.update { $0.abandonedAtShutdown = lanes.abandoned }
        heartbeat.stopped()
        await ledger?.stop()
        await store.stop()
        await consumer.close()
        await approvalsConsumer.close()
        logger.info("consumer pipeline stopped", metadata: ["pipeline.statistics": "\(statistics.snapshot)"])
        if let failure { throw failure }
    }

    /// The admission as it stands once the PSA's inactive statuses are read.
    var admission: Admission {
        views.current(Admission(psa: configuration.psa, defaults: configuration.defaults, criteria: configuration.criteria))
    }

    /// Waits, at most `shutdownGrace`, for running records to finish; false when some are left.
    private func drainWithinGrace() async -> Bool {
        let deadline = ContinuousClock.now + configuration.shutdownGrace
        while lanes.pending > 0 {
            let left = deadline - .now
            guard left > .zero else {
                statistics.update { $0.cancelledAtGrace = lanes.pending }
                logger.warning(
                    "shutdown grace over: cancelling records still running; they are redelivered",
                    metadata: ["pipeline.records": "\(lanes.pending)", "shutdown.grace": "\(configuration.shutdownGrace)"])
                return false
            }
            _ = await lanes.capacity.wait(upTo: left)
        }
        return true
    }

    /// Records fetched and not yet finished.
    var recordsInFlight: Int { lanes.pending }

    /// Reads of the results topic for restores; for tests and diagnostics.
    var restoreReads: RestoreReads { restores.reads }
}
