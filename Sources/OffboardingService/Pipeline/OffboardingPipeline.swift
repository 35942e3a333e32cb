import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import ServiceLifecycle
import Synchronization

/// The consumer loop: consume → decode and validate → filter by criteria → offboard through the
/// PSA → publish the result (and a retry request for updates that failed transiently) → store the
/// offset. Invalid records and records for another PSA go to the dead-letter topic. Records of one
/// key run in order; different keys run concurrently. The retry topic is consumed alongside the
/// events topic; a PSA that cannot be reached makes records wait rather than fail.
///
/// An offset is stored only when its record's outcome is final (result, retry request or dead
/// letter acknowledged by the broker, or filtered) and every earlier record of its partition is too.
///
/// The approvals topic is consumed too, by a second consumer in the group `{group_id}.approvals`
/// (in the main group, the assignor balances partition counts over all topics and could leave a
/// member without event partitions): a decision record carries out (or declines) the pending
/// approval it names, on the member that owns its partition; that member also expires approvals
/// left without a decision.
public final class OffboardingPipeline: Service, Sendable {
    public struct Configuration: Sendable {
        public var consumer: KafkaConsumer.Configuration
        public var topics: OffboarderConfiguration.Topics
        public var psa: PSAKind
        public var defaults: OffboardingOptions
        /// Records fetched and not yet finished, at most.
        public var maxInFlightRecords: Int
        public var pollTimeout: Duration
        /// Names this process in the `offboarding.instance` header of what it publishes.
        public var instanceID: String
        /// While the PSA cannot be reached, a record is tried again after this, doubling up to
        /// `maxOutageBackoff`; its offset stays unstored meanwhile.
        public var outageBackoff: Duration
        public var maxOutageBackoff: Duration
        /// Attempts per event, the first included, before configurations still failing go to the
        /// dead-letter topic; the retry topic carries attempts 2 and on.
        public var retryTopicMaxAttempts: Int = 5
        /// The wait before attempt 2, doubled for each further attempt up to `retryTopicMaxDelay`.
        public var retryTopicInitialDelay: Duration = .seconds(60)
        public var retryTopicMaxDelay: Duration = .seconds(3600)
        /// Skip events whose result is already on the results topic (see `ResultLedger`).
        public var skipEventsWithResults: Bool = true
        /// How often approvals past their expiry are looked for.
        public var approvalExpiryInterval: Duration = .seconds(30)
        /// The poll loop is stalled when it has not turned for this long.
        public var pollStallTimeout: Duration
        /// Work in flight is stalled when no record finished and no PSA call returned for this long.
        public var progressStallTimeout: Duration
        /// How long a revocation waits for the revoked partitions' running records to finish.
        public var revocationGrace: Duration = .seconds(15)

        public init(
            consumer: KafkaConsumer.Configuration, topics: OffboarderConfiguration.Topics, psa: PSAKind, defaults: OffboardingOptions,
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
            self.psa = psa
            self.defaults = defaults
            self.maxInFlightRecords = max(1, maxInFlightRecords)
            self.pollTimeout = pollTimeout
        }
    }

    public let statistics = PipelineStatistics()
    private let heartbeat = PipelineHeartbeat()
    private let ledger = Mutex<ResultLedger?>(nil)
    private let approvals = Mutex<ApprovalStore?>(nil)
    private let capacity = CapacitySignal()
    private let configuration: Configuration
    private let consumer: KafkaConsumer
    private let approvalsConsumer: KafkaConsumer
    private let producer: KafkaProducer
    private let offboarder: Offboarder
    private let logger: Logger
    private let tracker: OffsetTracker
    private let lanes = KeyedLanes<Work>()
    private let stopping = Mutex(false)

    struct Work: Sendable {
        var record: KafkaRecord
        var token: OffsetTracker.Token
    }

    private func consumer(of work: Work) -> KafkaConsumer {
        work.record.topic == configuration.topics.approvals ? approvalsConsumer : consumer
    }

    public init(configuration: Configuration, producer: KafkaProducer, offboarder: Offboarder, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.producer = producer
        let heartbeat = self.heartbeat
        self.offboarder = offboarder.reportingProgress { heartbeat.progressed() }
        self.logger = logger
        let tracker = OffsetTracker()
        self.tracker = tracker
        let grace = configuration.revocationGrace
        let statistics = self.statistics
        let rebalance: @Sendable (KafkaConsumer.RebalanceEvent) -> Void = { event in
            switch event {
            case .assigned(let partitions):
                tracker.assign(partitions)
            case .revoked(let partitions):
                // Runs in the rebalance callback, on the consumer's own queue: waiting here holds
                // the rebalance until running records have stored their offsets.
                let (awaited, unfinished) = tracker.revoke(partitions, grace: grace)
                statistics.update { $0.awaitedAtRevocation += awaited }
                if unfinished > 0 {
                    logger.warning("partitions revoked with records still running; their next owner runs them again", metadata: ["pipeline.records": "\(unfinished)"])
                }
            case .lost(let partitions):
                tracker.revoke(partitions)
            }
        }
        self.consumer = try KafkaConsumer(configuration: configuration.consumer, logger: logger, onRebalance: rebalance)
        var approvals = configuration.consumer
        approvals.groupID += ".approvals"
        approvals.consumption = .group(topics: [configuration.topics.approvals])
        self.approvalsConsumer = try KafkaConsumer(configuration: approvals, logger: logger, onRebalance: rebalance)
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
        } else if let lastPoll = beats.lastPoll, now - lastPoll > configuration.pollStallTimeout {
            state = .stalled(reason: "the poll loop has not turned for \(now - lastPoll)")
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

    /// Every approval on the topic, read from the beginning as a starting replica reads it.
    public static func readApprovals(bootstrapServers: String, topic: String, logger: Logger) async throws -> [ApprovalRecord] {
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrapServers), logger: logger)
        let partitions = try await producer.partitionCount(of: topic)
        await producer.shutdown()
        let store = try ApprovalStore(bootstrapServers: bootstrapServers, topic: topic, partitionCount: partitions, properties: [:], logger: logger)
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

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await consumeUntilStopped()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Stops fetching; records already running finish, queued ones are left for redelivery.
    public func stop() {
        stopping.withLock { $0 = true }
        lanes.drain()
        capacity.signal()
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    /// Reads the results topic's tail before the first event, so that events whose result is
    /// already published (the offset was not committed before a crash) are not run again.
    private func startLedger() async -> ResultLedger? {
        guard configuration.skipEventsWithResults else { return nil }
        do {
            let partitions = try await producer.partitionCount(of: configuration.topics.results)
            let ledger = try ResultLedger(
                bootstrapServers: configuration.consumer.bootstrapServers, topic: configuration.topics.results, partitionCount: partitions,
                properties: readerProperties, tail: 10_000, capacity: 200_000, logger: logger)
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

    /// Reads the whole approvals topic before the first record, so that every pending approval is known.
    private func startApprovals() async throws -> ApprovalStore {
        let topic = configuration.topics.approvals
        let partitions = try await producer.partitionCount(of: topic)
        let store = try ApprovalStore(
            bootstrapServers: configuration.consumer.bootstrapServers, topic: topic, partitionCount: partitions, properties: readerProperties,
            logger: logger)
        do {
            try await store.catchUp(timeout: .seconds(120))
        } catch {
            await store.stop()
            throw error
        }
        logger.info("approvals read", metadata: ["pipeline.approvals": "\(store.count)"])
        return store
    }

    private var readerProperties: [String: String] {
        var properties = configuration.consumer.properties
        properties.removeValue(forKey: "group.id")
        return properties
    }

    private func consumeUntilStopped() async throws {
        logger.info("consumer pipeline starting", metadata: ["kafka.librdkafka.version": "\(RDKafkaVersion.string)"])
        let ledger = await startLedger()
        self.ledger.withLock { $0 = ledger }
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
            var paused: [KafkaTopicPartition] = []
            while !isStopping {
                heartbeat.polled()
                let free = configuration.maxInFlightRecords - lanes.pending
                if free <= 0, paused.isEmpty {
                    // Usually a slot frees soon: wait for it with the fetched records left in place.
                    if await capacity.wait(upTo: .seconds(1)) { continue }
                    // Still full (a slow or unreachable PSA): stop fetching but keep polling, since a
                    // member that stops polling for max.poll.interval.ms is put out of the group.
                    paused = Array(consumer.assignment)
                    consumer.pause(paused)
                    statistics.update { $0.fetchPauses += 1 }
                    logger.info("at capacity: fetching paused", metadata: ["pipeline.in_flight": "\(lanes.pending)"])
                } else if free > 0, !paused.isEmpty {
                    consumer.resume(paused)
                    paused = []
                }
                let records: [KafkaRecord]
                do {
                    records = try await consumer.poll(maxRecords: max(1, min(free, 1000)), timeout: configuration.pollTimeout)
                } catch {
                    logger.critical("consumer failed", metadata: ["kafka.error": "\(error)"])
                    stop()
                    return error
                }
                for record in records {
                    statistics.update { $0.received += 1 }
                    guard let token = tracker.begin(record) else { continue }
                    let key = record.keyString ?? "partition-\(record.partition)"
                    if lanes.enqueue(Work(record: record, token: token), key: key) {
                        group.addTask { await self.runLane(key) }
                    }
                }
            }
            return nil
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

    /// The approvals consumer's loop: few records, so no pausing; they share the lanes.
    private func consumeApprovals() async {
        await withDiscardingTaskGroup { group in
            while !isStopping {
                let records: [KafkaRecord]
                do {
                    records = try await approvalsConsumer.poll(maxRecords: 100, timeout: configuration.pollTimeout)
                } catch {
                    logger.critical("approvals consumer failed", metadata: ["kafka.error": "\(error)"])
                    stop()
                    return
                }
                for record in records {
                    guard let token = tracker.begin(record) else { continue }
                    let key = "approval:" + (record.keyString ?? "partition-\(record.partition)")
                    if lanes.enqueue(Work(record: record, token: token), key: key) {
                        group.addTask { await self.runLane(key) }
                    }
                }
            }
        }
    }

    private func runLane(_ key: String) async {
        while let work = lanes.next(for: key) {
            await process(work)
            heartbeat.progressed()
            lanes.done()
            capacity.signal()
        }
    }

    // MARK: One record

    private func process(_ work: Work) async {
        guard tracker.start(work.token) else {
            // Its partition is being revoked: the next owner reads it from the last commit.
            statistics.update { $0.leftForNextOwner += 1 }
            return
        }
        // Some paths end without a final outcome (the pipeline stopping): a revocation must not wait for them.
        defer { tracker.ended(work.token) }
        let record = work.record
        var logger = self.logger
        logger[metadataKey: "kafka.topic"] = "\(record.topic)"
        logger[metadataKey: "kafka.partition"] = "\(record.partition)"
        logger[metadataKey: "kafka.offset"] = "\(record.offset)"
        if record.topic == configuration.topics.retry {
            await processRetry(work, logger: logger)
            return
        }
        if record.topic == configuration.topics.approvals {
            await processApproval(work, logger: logger)
            return
        }

        var headers: [String: String] = [:]
        for header in record.headers { headers[header.key.lowercased()] = header.stringValue }
        let event: CompanyStatusChangedEvent
        do {
            event = try CloudEventDecoder.decode(value: record.value, headers: headers)
        } catch {
            logger.warning("invalid event dead-lettered", metadata: ["offboarding.error": "\(error.message)"])
            await deadLetter(work, code: .invalidEvent, reason: error.message, logger: logger)
            return
        }
        logger[metadataKey: "offboarding.event.id"] = "\(event.id)"
        guard event.psa == configuration.psa else {
            let reason = "event is for \(event.psa) but this consumer serves \(configuration.psa)"
            logger.warning("event for another PSA dead-lettered")
            await deadLetter(work, code: .psaMismatch, reason: reason, logger: logger)
            return
        }
        let options = event.options.resolved(defaults: configuration.defaults)
        // A status report (event, webhook) is filtered by the status it reports; a request (API,
        // schedule, manual) always gets a result, and the run checks the PSA's current status.
        let reportsStatus = event.trigger == .event || event.trigger == .webhook
        guard !reportsStatus || options.isOffboarded(status: event.status) else {
            statistics.update { $0.filtered += 1 }
            logger.debug("event filtered: status is not an offboarded one", metadata: ["psa.company.status": "\(event.status)"])
            complete(work, logger: logger)
            return
        }
        if ledger.withLock({ $0 })?.contains(event.id) == true {
            statistics.update { $0.alreadyPublished += 1 }
            logger.info("event already has a result; not run again")
            complete(work, logger: logger)
            return
        }
        let request = OffboardingRequest(
            eventID: event.id, trigger: event.trigger, client: .id(event.companyID), clientNameHint: event.companyName, options: options)
        await runAndPublish(work, request: request, attempt: 1, logger: logger) { await self.offboarder.runDetailed(request) }
    }

    /// A retry request: wait until it is due, deactivate exactly its configurations, publish the
    /// follow-up result, and pass what still fails on to the next attempt or, after the last, to
    /// the dead-letter topic.
    private func processRetry(_ work: Work, logger: Logger) async {
        let retry: RetryRequest
        do {
            retry = try RetryRequest.decode(work.record.value)
        } catch {
            logger.warning("invalid retry request dead-lettered", metadata: ["offboarding.error": "\(error.message)"])
            await deadLetter(work, code: .invalidEvent, reason: error.message, logger: logger)
            return
        }
        var logger = logger
        logger[metadataKey: "offboarding.event.id"] = "\(retry.eventID)"
        logger[metadataKey: "offboarding.attempt"] = "\(retry.attempt)"
        guard retry.psa == configuration.psa else {
            await deadLetter(work, code: .psaMismatch, reason: "retry request is for \(retry.psa) but this consumer serves \(configuration.psa)", logger: logger)
            return
        }
        if let due = work.record.headers.last(named: "retry.due")?.stringValue.flatMap(Timestamp.date(from:)) {
            // A due time from the topic is never waited for longer than the longest retry delay.
            let longest = Double(configuration.retryTopicMaxDelay.components.seconds)
            let wait = min(due.timeIntervalSinceNow, longest)
            // Only this client's lane waits; other clients and partitions go on.
            if wait > 0, !(await sleepUnlessStopping(.milliseconds(Int64(wait * 1000)))) { return }
        }
        statistics.update { $0.retriesRun += 1 }
        await runAndPublish(work, request: retry.request, attempt: retry.attempt, logger: logger) {
            await self.offboarder.retry(retry.configurations, for: retry.request, attempt: retry.attempt)
        }
    }

    /// Runs (waiting out PSA outages), publishes the result, sends what failed transiently to the
    /// retry topic, and only then stores the offset.
    private func runAndPublish(
        _ work: Work, request: OffboardingRequest, attempt: Int, logger: Logger, run: @escaping @Sendable () async -> Offboarder.Outcome,
        then afterPublishing: @Sendable () async -> Bool = { true }
    ) async {
        var outcome = await run()
        var backoff = configuration.outageBackoff
        while outcome.result.failedBeforeReachingThePSA {
            // Nothing was changed and nothing is lost: keep the offset and try again later, so that
            // the offboarding happens once the PSA is back instead of ending as a failure result.
            statistics.update { $0.outageRetries += 1 }
            logger.error(
                "PSA unreachable; the event waits",
                metadata: ["psa.error": "\(outcome.result.errors.first?.message ?? "")", "retry.after": "\(backoff)"])
            guard await sleepUnlessStopping(backoff) else { return }
            backoff = min(backoff * 2, configuration.maxOutageBackoff)
            outcome = await run()
        }
        let result = outcome.result
        if let approval = outcome.pendingApproval {
            // Kept before the result is visible, so that whoever reads the result can approve it.
            guard await keep(approval, logger: logger) else { return }
        }
        let value: [UInt8]
        do {
            value = try ResultEncoding.encode(result)
        } catch {
            logger.error("result could not be encoded; record left for redelivery", metadata: ["offboarding.error": "\(error)"])
            return
        }
        var headers = publishedHeaders(eventID: request.eventID)
        if attempt > 1 { headers.append(KafkaHeader(key: "offboarding.attempt", string: String(attempt))) }
        switch await publish(KafkaOutgoingRecord(topic: configuration.topics.results, key: result.clientID, value: value, headers: headers), logger: logger) {
        case .published:
            statistics.update { $0.resultsPublished += 1 }
            ledger.withLock { $0 }?.record(request.eventID)
        case .stopping:
            return
        case .rejected(let error):
            // A poison record: its result can never be published. Dead-lettering it, with the
            // reason, unblocks its partition and leaves it visible to operators.
            logger.error("result cannot be published; record dead-lettered", metadata: ["kafka.error": "\(error)"])
            await deadLetter(
                work, code: .processingFailed,
                reason: "the result (\(value.count) bytes, success \(result.success), \(result.statistics.configsDeactivated) deactivated) could not be published: \(error)",
                logger: logger)
            return
        }
        if !outcome.retriable.isEmpty {
            guard await sendOnward(outcome.retriable, of: request, result: result, after: attempt, work: work, logger: logger) else { return }
        }
        guard await afterPublishing() else { return }
        complete(work, logger: logger)
    }

    /// Puts the configurations that failed transiently on the retry topic for the next attempt, or
    /// on the dead-letter topic after the last one. False when the pipeline is stopping.
    private func sendOnward(
        _ failed: [PSAConfiguration], of request: OffboardingRequest, result: OffboardingResult, after attempt: Int, work: Work, logger: Logger
    ) async -> Bool {
        let next = RetryRequest(
            eventID: request.eventID, trigger: request.trigger, psa: configuration.psa, clientID: result.clientID, clientName: result.clientName,
            reason: request.options.reason, offboardedStatuses: request.options.offboardedStatuses, attempt: attempt + 1,
            configs: failed.map { RetryRequest.Config(configID: $0.id, configName: $0.name) })
        let lastError = result.errors.first { $0.configID == failed.first?.id }?.message ?? "update failed"
        let source = work.record
        // On a retry request: the attempt it asks for; on a dead letter: the last attempt made.
        let attemptHeader = attempt < configuration.retryTopicMaxAttempts ? attempt + 1 : attempt
        var headers = [
            KafkaHeader(key: "retry.attempt", string: String(attemptHeader)),
            KafkaHeader(key: "retry.error", string: lastError),
            KafkaHeader(key: "retry.source.topic", string: source.topic),
            KafkaHeader(key: "retry.source.partition", string: String(source.partition)),
            KafkaHeader(key: "retry.source.offset", string: String(source.offset)),
        ]
        let outgoing: KafkaOutgoingRecord
        if attempt < configuration.retryTopicMaxAttempts {
            let delay = min(configuration.retryTopicInitialDelay * (1 << min(attempt - 1, 20)), configuration.retryTopicMaxDelay)
            let due = Date().addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
            headers.append(KafkaHeader(key: "retry.due", string: Timestamp.string(due, fractionalSeconds: true)))
            outgoing = KafkaOutgoingRecord(topic: configuration.topics.retry, key: result.clientID, value: next.encoded(), headers: headers)
            statistics.update { $0.retriesScheduled += 1 }
        } else {
            headers += [
                KafkaHeader(key: "dlq.error.code", string: OffboardingErrorCode.configUpdateFailed.rawValue),
                KafkaHeader(key: "dlq.reason", string: "\(failed.count) configurations still failing after attempt \(attempt): \(lastError)"),
                KafkaHeader(key: "dlq.source.topic", string: source.topic),
                KafkaHeader(key: "dlq.source.partition", string: String(source.partition)),
                KafkaHeader(key: "dlq.source.offset", string: String(source.offset)),
            ]
            outgoing = KafkaOutgoingRecord(topic: configuration.topics.deadLetter, key: result.clientID, value: next.encoded(), headers: headers)
            statistics.update { $0.retriesExhausted += 1 }
            logger.error("configurations still failing after the last attempt; dead-lettered", metadata: ["offboarding.configs": "\(failed.count)"])
        }
        switch await publish(outgoing, logger: logger) {
        case .published: return true
        case .stopping: return false
        case .rejected(let error):
            logger.critical("retry request refused by the broker; the configurations are reported failed", metadata: ["kafka.error": "\(error)"])
            return true
        }
    }

    /// The headers of every result and approval this pipeline publishes.
    private func publishedHeaders(eventID: String) -> [KafkaHeader] {
        [
            KafkaHeader(key: "content-type", string: "application/json"),
            KafkaHeader(key: "offboarding.event.id", string: eventID),
            KafkaHeader(key: "offboarding.instance", string: configuration.instanceID),
        ]
    }

    // MARK: Approvals

    /// Writes an approval's state to the approvals topic. False when the pipeline is stopping.
    private func keep(_ approval: ApprovalRecord, logger: Logger) async -> Bool {
        let store = approvals.withLock { $0 }
        if approval.state == .pending, let known = store?.approval(approval.approvalID), known.state != .pending {
            // A run repeated after a crash: the approval was decided meanwhile and stays so.
            return true
        }
        let record = KafkaOutgoingRecord(
            topic: configuration.topics.approvals, key: approval.approvalID, value: ApprovalMessage.record(approval).encoded(),
            headers: publishedHeaders(eventID: approval.eventID))
        switch await publish(record, logger: logger) {
        case .published:
            store?.remember(approval, partition: nil)
            statistics.update { approval.state == .pending ? ($0.approvalsRequested += 1) : ($0.approvalsDecided += 1) }
            return true
        case .stopping:
            return false
        case .rejected(let error):
            logger.critical("approval refused by the broker", metadata: ["kafka.error": "\(error)"])
            return false
        }
    }

    /// A record of the approvals topic. States (written by runs) are only read by the store; a
    /// decision carries out or declines the approval it names.
    private func processApproval(_ work: Work, logger: Logger) async {
        let message: ApprovalMessage
        do {
            message = try ApprovalMessage.decode(work.record.value)
        } catch {
            logger.warning("invalid approval record dead-lettered", metadata: ["offboarding.error": "\(error.message)"])
            await deadLetter(work, code: .invalidEvent, reason: error.message, logger: logger)
            return
        }
        guard case .decision(let decision) = message else {
            complete(work, logger: logger)
            return
        }
        var logger = logger
        logger[metadataKey: "offboarding.approval.id"] = "\(decision.approvalID)"
        guard let store = approvals.withLock({ $0 }) else { return }
        // The pending state precedes its decision in the same partition (same key).
        guard await store.waitUntilRead(partition: work.record.partition, offset: work.record.offset, timeout: .seconds(30)) else {
            logger.error("approvals topic not read up to the decision; it waits for redelivery")
            return
        }
        guard let approval = store.approval(decision.approvalID) else {
            await deadLetter(work, code: .invalidEvent, reason: "approval \(decision.approvalID) is not known", logger: logger)
            return
        }
        guard approval.state == .pending else {
            statistics.update { $0.approvalDecisionsIgnored += 1 }
            logger.info("approval already \(approval.state); decision ignored", metadata: ["offboarding.approver": "\(decision.approver)"])
            complete(work, logger: logger)
            return
        }
        guard approval.psa == configuration.psa else {
            await deadLetter(work, code: .psaMismatch, reason: "approval is for \(approval.psa) but this consumer serves \(configuration.psa)", logger: logger)
            return
        }
        let offboarder = self.offboarder
        let state: ApprovalState
        let run: @Sendable () async -> Offboarder.Outcome
        if approval.isExpired(at: Date()) {
            state = .expired
            run = { Offboarder.Outcome(result: offboarder.decline(approval, state: .expired, decision: nil)) }
        } else if decision.decision == .reject {
            state = .rejected
            run = { Offboarder.Outcome(result: offboarder.decline(approval, state: .rejected, decision: decision)) }
        } else {
            state = .approved
            run = { await offboarder.execute(approval, decision: decision) }
        }
        logger.info("approval \(state)", metadata: ["offboarding.approver": "\(decision.approver)"])
        var final = approval
        final.state = state
        final.decision = state == .expired ? nil : decision
        let finalState = final
        let approvalLogger = logger
        await runAndPublish(work, request: approval.request, attempt: 1, logger: logger, run: run) {
            await self.keep(finalState, logger: approvalLogger)
        }
    }

    /// Expires, on the member that owns their partition, approvals left pending past their expiry.
    private func expireApprovals(_ store: ApprovalStore) async {
        while await sleepUnlessStopping(configuration.approvalExpiryInterval) {
            let owned = Set(approvalsConsumer.assignment.filter { $0.topic == configuration.topics.approvals }.map(\.partition))
            guard !owned.isEmpty else { continue }
            for approval in store.expired(at: Date(), in: owned) where approval.psa == configuration.psa {
                var logger = self.logger
                logger[metadataKey: "offboarding.approval.id"] = "\(approval.approvalID)"
                let result = offboarder.decline(approval, state: .expired, decision: nil)
                guard let value = try? ResultEncoding.encode(result) else { continue }
                let record = KafkaOutgoingRecord(
                    topic: configuration.topics.results, key: result.clientID, value: value,
                    headers: publishedHeaders(eventID: approval.eventID))
                guard case .published = await publish(record, logger: logger) else { continue }
                statistics.update { $0.resultsPublished += 1 }
                var final = approval
                final.state = .expired
                _ = await keep(final, logger: logger)
                logger.info("approval expired without a decision")
            }
        }
    }

    private func deadLetter(_ work: Work, code: OffboardingErrorCode, reason: String, logger: Logger) async {
        let record = work.record
        var headers = record.headers
        headers += [
            KafkaHeader(key: "dlq.error.code", string: code.rawValue),
            KafkaHeader(key: "dlq.reason", string: reason),
            KafkaHeader(key: "dlq.source.topic", string: record.topic),
            KafkaHeader(key: "dlq.source.partition", string: String(record.partition)),
            KafkaHeader(key: "dlq.source.offset", string: String(record.offset)),
        ]
        var outgoing = KafkaOutgoingRecord(
            topic: configuration.topics.deadLetter, partition: nil, key: record.key, value: record.value, headers: headers)
        var attempt = 0
        while true {
            switch await publish(outgoing, logger: logger) {
            case .published:
                statistics.update { $0.deadLettered += 1 }
                complete(work, logger: logger)
                return
            case .stopping:
                return
            case .rejected(let error):
                // Even the dead letter is refused (an input larger than the broker accepts): keep the
                // key and reason, drop the value, so the record is still accounted for.
                attempt += 1
                guard attempt == 1, outgoing.value != nil else {
                    logger.critical("dead letter refused; the record stays unacknowledged", metadata: ["kafka.error": "\(error)"])
                    guard await sleepUnlessStopping(.seconds(30)) else { return }
                    continue
                }
                outgoing.value = nil
                outgoing.headers.append(KafkaHeader(key: "dlq.value.dropped", string: "\(error)"))
            }
        }
    }

    enum PublishOutcome {
        case published
        /// The pipeline is stopping: the record's outcome is not final and its offset must not be stored.
        case stopping
        /// The broker or librdkafka refuses this record for good (too large, invalid).
        case rejected(KafkaError)
    }

    /// librdkafka's codes for a record that no repetition will get accepted.
    static let permanentProduceErrors: Set<Int32> = [
        2,  // CORRUPT_MESSAGE
        10,  // MSG_SIZE_TOO_LARGE (also raised by librdkafka itself above message.max.bytes)
        87,  // INVALID_RECORD
    ]

    /// Sends until the broker acknowledges; transient failures (a broker down) are repeated with
    /// back-off for as long as it takes, a permanent refusal after a few attempts is returned.
    private func publish(_ record: KafkaOutgoingRecord, logger: Logger) async -> PublishOutcome {
        var delay = Duration.milliseconds(100)
        var refusals = 0
        while true {
            do {
                try await producer.send(record)
                return .published
            } catch let error as KafkaError where error.rdKafkaCode.map(Self.permanentProduceErrors.contains) == true {
                refusals += 1
                if refusals >= 3 { return .rejected(error) }
                logger.warning("publish refused; trying again", metadata: ["kafka.topic": "\(record.topic)", "kafka.error": "\(error)"])
            } catch {
                logger.error("publish failed; retrying", metadata: ["kafka.topic": "\(record.topic)", "kafka.error": "\(error)"])
            }
            statistics.update { $0.publishRetries += 1 }
            guard await sleepUnlessStopping(delay) else { return .stopping }
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// False when the pipeline started stopping, so that the caller gives the record up.
    private func sleepUnlessStopping(_ duration: Duration) async -> Bool {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if isStopping { return false }
            try? await Task.sleep(for: min(.milliseconds(100), deadline - .now))
        }
        return !isStopping
    }

    private func complete(_ work: Work, logger: Logger) {
        switch tracker.finish(work.token) {
        case .nothing:
            return
        case .revoked:
            // The partition moved to another member, which reads it again from the last commit.
            statistics.update { $0.finishedAfterRevoke += 1 }
        case .store(let offset):
            do {
                try consumer(of: work).storeOffset(work.token.partition, nextOffset: offset)
                statistics.update { $0.offsetsStored += 1 }
            } catch {
                statistics.update { $0.offsetStoreFailures += 1 }
                logger.warning("offset not stored", metadata: ["kafka.error": "\(error)"])
            }
        }
    }
}

extension OffboardingResult {
    /// The run could not reach the PSA before changing anything: an outage, not an outcome.
    var failedBeforeReachingThePSA: Bool {
        !success && statistics.configsDeactivated == 0 && !errors.isEmpty && errors.allSatisfy { $0.code == .psaConnectionError }
    }
}

/// The result record's JSON, as the contract and schemas/result.schema.json describe it.
public enum ResultEncoding {
    public static func encode(_ result: OffboardingResult, pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(result))
    }

    public static func decode(_ bytes: [UInt8]) throws -> OffboardingResult {
        try JSONDecoder().decode(OffboardingResult.self, from: Data(bytes))
    }
}
