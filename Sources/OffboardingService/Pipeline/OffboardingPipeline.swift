import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import ServiceLifecycle
import Synchronization

/// The consumer loop: consume → decode and validate → filter by criteria → offboard through the
/// PSA → publish the result (and a retry request for updates that failed transiently) → store the
/// offset. Invalid records and records for another PSA go to the dead-letter topic. Records of one
/// key run in order; different keys run concurrently.
///
/// An offset is stored only when its record's outcome is final (result, retry request or dead
/// letter acknowledged by the broker, or filtered) and every earlier record of its partition is too.
///
/// The jobs live in their own files: the poll loop with partitions, lanes and offsets
/// (`PollLoop`), one handler per kind of record (`EventHandling`, `RetryHandling`,
/// `ApprovalHandling`), the run-to-result step with outage waits and journals (`RunCompletion`),
/// and what goes to Kafka (`Publishing`). Start-up reads are in `PipelineStartup`.
///
/// The approvals topic is consumed by a second consumer in the group `{group_id}.approvals`
/// (in the main group, the assignor balances partition counts over all topics and could leave a
/// member without event partitions): a decision record carries out (or declines) the pending
/// approval it names, on the member that owns its partition; that member also expires approvals
/// left without a decision.
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
        /// While the PSA cannot be reached, a record is tried again after this, doubling up to
        /// `maxOutageBackoff`; its offset stays unstored meanwhile.
        public var outageBackoff: Duration
        public var maxOutageBackoff: Duration
        /// How long a record waits out an outage in place before it moves to the retry topic
        /// (`retry.outage_max_wait`).
        public var outageMaxWait: Duration = Self.defaultOutageMaxWait
        public static let defaultOutageMaxWait: Duration = .seconds(15 * 60)
        /// Attempts per event, the first included, before configurations still failing go to the
        /// dead-letter topic; the retry topic carries attempts 2 and on.
        public var retryTopicMaxAttempts: Int = 5
        /// The wait before attempt 2, doubled for each further attempt up to `retryTopicMaxDelay`.
        public var retryTopicInitialDelay: Duration = .seconds(60)
        public var retryTopicMaxDelay: Duration = .seconds(3600)
        /// Skip events whose result is already on the results topic (see `ResultLedger`).
        public var skipEventsWithResults: Bool = true
        /// How often approvals past their expiry are looked for.
        public var approvalExpiryInterval: Duration = Self.defaultApprovalExpiryInterval
        public static let defaultApprovalExpiryInterval: Duration = .seconds(30)
        /// How long a decided approval stays on the approvals topic before it is tombstoned (its
        /// result, with the decision, is on the results topic).
        public var decidedApprovalRetention: Duration = .seconds(7 * 86_400)
        /// The poll loop is stalled when it has not turned for this long.
        public var pollStallTimeout: Duration
        /// Work in flight is stalled when no record finished and no PSA call returned for this long.
        public var progressStallTimeout: Duration
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
            maxInFlightRecords: Int = 512, pollTimeout: Duration = .milliseconds(100),
            instanceID: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)",
            outageBackoff: Duration = .seconds(1), maxOutageBackoff: Duration = .seconds(60),
            pollStallTimeout: Duration = .seconds(60), progressStallTimeout: Duration = .seconds(300)
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
    }

    public let statistics = PipelineStatistics()
    /// The Kafka clients' broker trouble that librdkafka rode out (retried requests, lost connections).
    public let kafkaClients: KafkaClientCounters
    let heartbeat = PipelineHeartbeat()
    let ledger = Mutex<ResultLedger?>(nil)
    let approvals = Mutex<ApprovalStore?>(nil)
    let capacity = CapacitySignal()
    let configuration: Configuration
    let consumer: KafkaConsumer
    let approvalsConsumer: KafkaConsumer
    let producer: KafkaProducer
    let offboarder: Offboarder
    let logger: Logger
    let tracker: OffsetTracker
    let lanes = KeyedLanes<Work>()
    let stopSignal = StopSignal()
    /// Reads of the results topic for restores, a few at a time.
    let restoreReads = RestoreReads()
    /// Company status names the PSA itself calls inactive (ConnectWise's `inactiveFlag`), read
    /// before the first poll; nil when they could not be read, and then no event is filtered by
    /// its status alone.
    let inactiveStatusNames = Mutex<[String]?>([])
    /// The latest read of the approvals topic to its end, started when partitions were assigned.
    let journalsRead = Mutex<Task<Void, Never>?>(nil)

    struct Work: Sendable {
        var record: KafkaRecord
        var token: OffsetTracker.Token
    }

    /// - Parameter kafkaClients: counts the consumers' broker trouble, beside the producer's.
    public init(
        configuration: Configuration, producer: KafkaProducer, offboarder: Offboarder, kafkaClients: KafkaClientCounters = KafkaClientCounters(),
        logger: Logger
    ) throws(KafkaError) {
        self.configuration = configuration
        self.kafkaClients = kafkaClients
        self.producer = producer
        let heartbeat = self.heartbeat
        self.offboarder = offboarder.reportingProgress { _ in heartbeat.progressed() }
        self.logger = logger
        let tracker = OffsetTracker()
        self.tracker = tracker
        let grace = configuration.revocationGrace
        let statistics = self.statistics
        let lagGauges = ConsumerLagGauges()
        let rebalance: @Sendable (KafkaConsumer.RebalanceEvent) -> Void = { event in
            switch event {
            case .assigned(let partitions):
                tracker.assign(partitions)
            case .revoked(let partitions):
                lagGauges.remove(partitions)
                // Runs in the rebalance callback, on the consumer's own queue: waiting here holds
                // the rebalance until running records have stored their offsets.
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
        var events = configuration.consumer
        events.statisticsInterval = configuration.statisticsInterval
        self.consumer = try KafkaConsumer(configuration: events, logger: logger, onRebalance: rebalance) { [group = events.groupID] in
            lagGauges.record($0, group: group)
            kafkaClients.record($0.brokers, client: "consumer")
        }
        var approvals = events
        approvals.groupID += ".approvals"
        approvals.consumption = .group(topics: [configuration.topics.approvals])
        self.approvalsConsumer = try KafkaConsumer(configuration: approvals, logger: logger, onRebalance: rebalance) { [group = approvals.groupID] in
            lagGauges.record($0, group: group)
            kafkaClients.record($0.brokers, client: "approvals-consumer")
        }
    }

    /// Whether the poll loop turns and the work in flight moves; for liveness probes.
    public func health() -> PipelineHealth {
        let beats = heartbeat.beats.withLock { $0 }
        let inFlight = lanes.pending
        let assigned = consumer.assignment.count
        let now = ContinuousClock.now
        let state: PipelineHealth.State
        if beats.stopped {
            state = .stopped
        } else if let failure = approvals.withLock({ $0 })?.readerFailure {
            // Decisions and journals would go unread: restarting is the remedy. The log has the
            // error; the health routes answer anyone, so only its kind is named here.
            state = .stalled(reason: "the approvals topic reader stopped (kafka \(failure.code))")
        } else if let failure = ledger.withLock({ $0 })?.readerFailure {
            state = .stalled(reason: "the results topic reader stopped (kafka \(failure.code))")
        } else if let lastPoll = beats.lastPoll, now - lastPoll > configuration.pollStallTimeout {
            state = .stalled(reason: "the poll loop has not turned for \(now - lastPoll)")
        } else if beats.waitingOnPSA > 0 {
            state = .waitingOnPSA(reason: "\(beats.waitingOnPSA) records wait for the PSA: \(beats.outage)")
        } else if inFlight > 0, now - beats.lastProgress > configuration.progressStallTimeout {
            state = .stalled(reason: "\(inFlight) records in flight and no progress for \(now - beats.lastProgress)")
        } else if beats.lastPoll == nil || assigned == 0 {
            state = .starting
        } else {
            state = .healthy
        }
        return PipelineHealth(state: state, recordsInFlight: inFlight, partitionsAssigned: assigned)
    }

    /// The partitions this member owns now.
    public var assignment: Set<KafkaTopicPartition> { consumer.assignment }

    /// What `GET /v1/offboardings/{event_id}` answers.
    public enum HeldResult: Sendable {
        /// The results topic has not been read yet.
        case notReady
        case none
        case found([UInt8])
    }

    public func latestResult(for eventID: String) -> HeldResult {
        guard let ledger = ledger.withLock({ $0 }) else { return .notReady }
        return ledger.latestResult(for: eventID).map(HeldResult.found) ?? .none
    }

    /// The approval as this replica has read it from the approvals topic; nil when unknown or not read yet.
    public func approval(_ id: String) -> ApprovalRecord? {
        approvals.withLock { $0 }?.approval(id)
    }

    public var approvalsReady: Bool { approvals.withLock { $0 } != nil }

    /// Whether a console session was ended by signing out, as this replica read the approvals topic;
    /// before the topic is read, every session counts as ended (a page then asks to sign in again).
    public func isSessionRevoked(_ id: String) -> Bool {
        approvals.withLock { $0 }?.isRevoked(session: id) ?? true
    }

    /// Remembers a sign-out this process has just written, before its own reader gets to it.
    func remember(_ revocation: SessionRevocation) {
        approvals.withLock { $0 }?.remember(revocation)
    }

    /// The approvals waiting for a decision, as this replica read the approvals topic; nil before it was read.
    public var pendingApprovals: Int? { approvals.withLock { $0 }?.pendingCount }

    /// The approvals waiting for a decision, oldest first; nil before the approvals topic was read.
    public var pendingApprovalRecords: [ApprovalRecord]? { approvals.withLock { $0 }?.pending }

    /// The latest result of the events most recently published for, newest first; nil before
    /// the results topic was read.
    public func recentResults(limit: Int) -> [[UInt8]]? {
        ledger.withLock { $0 }?.recentResults(limit: limit)
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
        capacity.signal()
    }

    var isStopping: Bool { stopSignal.isStopped }

    private func consumeUntilStopped() async throws {
        logger.info("consumer pipeline starting", metadata: ["kafka.librdkafka.version": "\(RDKafkaVersion.string)"])
        let ledger = await startLedger()
        self.ledger.withLock { $0 = ledger }
        await readInactiveStatusNames()
        let store: ApprovalStore
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
        approvals.withLock { $0 = store }
        let failure: (any Error)? = await withDiscardingTaskGroup { group -> (any Error)? in
            group.addTask { await self.expireApprovals(store) }
            group.addTask { await self.consumeApprovals() }
            let failure = await pollEvents(startingLanesIn: &group)
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
            _ = await capacity.wait(upTo: left)
        }
        return true
    }
}
