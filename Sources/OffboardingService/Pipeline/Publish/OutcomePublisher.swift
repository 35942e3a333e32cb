import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// The only code that writes what a run ends in: results (with the ledger), retry requests,
/// approvals, run journals and dead letters. The service, `run`, `restore` and `sweep` all send
/// through it, so a result is built and sent one way.
final class OutcomePublisher: Sendable {
    struct Configuration: Sendable {
        var topics: OffboarderConfiguration.Topics
        var psa: PSAKind
        /// Names this process in the `offboarding.instance` header of what it publishes.
        var instanceID: String
        /// Attempts per event, the first included, before configurations still failing go to the
        /// dead-letter topic; the retry topic carries attempts 2 and on.
        var retryTopicMaxAttempts: Int
        /// The wait before attempt 2, doubled for each further attempt up to `retryTopicMaxDelay`.
        var retryTopicInitialDelay: Duration
        var retryTopicMaxDelay: Duration

        /// The wait before the attempt after `attempt`.
        func retryDelay(after attempt: Int) -> Duration {
            min(retryTopicInitialDelay * (1 << min(max(attempt, 1) - 1, 20)), retryTopicMaxDelay)
        }
    }

    /// How a record's outcome went out.
    enum Published {
        /// Everything is on its topic: the record is finished.
        case final
        /// The pipeline is stopping: nothing final, the record is redelivered.
        case notFinal
        /// The broker refuses it for good: the record itself goes to the dead-letter topic, with this reason.
        case refused(String)
    }

    let configuration: Configuration
    let sending: KafkaSending
    let views: PipelineViews
    let statistics: PipelineStatistics

    init(configuration: Configuration, sending: KafkaSending, views: PipelineViews) {
        self.configuration = configuration
        self.sending = sending
        self.views = views
        self.statistics = sending.statistics
    }

    func send(_ record: KafkaOutgoingRecord, logger: Logger) async -> KafkaSending.Sent {
        await sending.send(record, logger: logger)
    }

    // MARK: A run's outcome

    /// A run's outcome, in the order that loses nothing on a crash: the pending approval before
    /// the result (whoever reads the result can approve it), the retry request before the result
    /// (a crash between them leaves no result, so the event runs again and finds its journal),
    /// then the result, the journal's tombstone and an approval's final state.
    func publish(_ outcome: Offboarder.Outcome, of order: Admission.Order, source: KafkaRecord?, logger: Logger) async -> Published {
        let result = outcome.result
        if let approval = outcome.pendingApproval {
            switch await write(approval: approval, logger: logger) {
            case .published: break
            case .stopping, .gaveUp: return .notFinal
            case .rejected(let error): return .refused("the pending approval could not be kept on the approvals topic: \(error)")
            }
        }
        if !outcome.retriable.isEmpty, let source {
            let lastError = result.errors.first { $0.configID == outcome.retriable.first?.id }?.message ?? "update failed"
            guard await sendOnward(
                outcome.retriable, statesBefore: outcome.statesBefore, grant: outcome.grant, of: order.request, clientID: result.clientID,
                clientName: result.clientName, error: lastError, after: order.attempt, source: source, logger: logger)
            else { return .notFinal }
        }
        switch await publishResult(result, of: order.request, attempt: order.attempt, logger: logger) {
        case .published: break
        case .stopping, .gaveUp: return .notFinal
        case .rejected(let error):
            // A poison record: its result can never be published. Dead-lettering the record, with
            // the reason, unblocks its partition and leaves it visible to operators.
            logger.error("result cannot be published; record dead-lettered", metadata: ["kafka.error": "\(error)"])
            return .refused(
                "the result (success \(result.success), \(result.statistics.configsDeactivated) deactivated) could not be published: \(error)")
        }
        await forgetJournal(eventID: order.request.eventID, attempt: order.journalAttempt, logger: logger)
        if let final = order.finalApproval {
            switch await write(approval: final, logger: logger) {
            case .published: break
            case .stopping, .gaveUp: return .notFinal
            case .rejected(let error):
                // The result is out; a final state the broker refuses must not pin the partition.
                logger.critical("final approval state refused by the broker; the result stands", metadata: ["kafka.error": "\(error)"])
            }
        }
        return .final
    }

    /// A result, with the headers the ledger and a restore find it by; an attempt's first result
    /// is remembered by the ledger, so that a redelivered event is not run again.
    func publishResult(_ result: OffboardingResult, of request: OffboardingRequest, attempt: Int, logger: Logger) async -> KafkaSending.Sent {
        let value: [UInt8]
        do {
            value = try ResultEncoding.encode(result)
        } catch {
            return .rejected(KafkaError(code: .produce, message: "the result could not be encoded: \(error)"))
        }
        var headers = headers(eventID: request.eventID, source: request.eventSource)
        if attempt > 1 { headers.append(KafkaHeader(key: "offboarding.attempt", string: String(attempt))) }
        let sent = await send(KafkaOutgoingRecord(topic: configuration.topics.results, key: result.clientID, value: value, headers: headers), logger: logger)
        if case .published = sent {
            statistics.update { $0.resultsPublished += 1 }
            ServiceMetrics.published(result)
            if attempt == 1 { views.ledger.withLock { $0 }?.record(source: request.eventSource, eventID: request.eventID) }
        }
        return sent
    }

    // MARK: Approvals and journals

    /// Writes an approval's state to the approvals topic.
    func write(approval: ApprovalRecord, logger: Logger) async -> KafkaSending.Sent {
        let store = views.approvals.withLock { $0 }
        if approval.state == .pending, let known = store?.approval(approval.approvalID), known.state != .pending {
            // A run repeated after a crash: the approval was decided meanwhile and stays so.
            return .published
        }
        let record = KafkaOutgoingRecord(
            topic: configuration.topics.approvals, key: approval.approvalID, value: ApprovalMessage.record(approval).encoded(),
            headers: headers(eventID: approval.eventID, source: approval.eventSource))
        let sent = await send(record, logger: logger)
        if case .published = sent {
            store?.remember(approval, partition: nil)
            statistics.update { approval.state == .pending ? ($0.approvalsRequested += 1) : ($0.approvalsDecided += 1) }
        }
        return sent
    }

    /// An approval left without a decision past its expiry: its result, then its final state.
    func expire(_ approval: ApprovalRecord, result: OffboardingResult, logger: Logger) async {
        guard case .published = await publishResult(result, of: approval.request(dryRun: false), attempt: 1, logger: logger) else { return }
        var final = approval
        final.state = .expired
        _ = await write(approval: final, logger: logger)
    }

    /// A decided approval past the retention: a tombstone, so that compaction removes it.
    func tombstone(approval id: String, logger: Logger) async -> Bool {
        let tombstone = KafkaOutgoingRecord(topic: configuration.topics.approvals, key: id, value: nil, headers: [])
        guard case .published = await send(tombstone, logger: logger) else { return false }
        views.approvals.withLock { $0 }?.forget(approval: id)
        return true
    }

    /// Keeps a run's journal before its first write; false when the pipeline stopped first
    /// (nothing is written then).
    func write(journal: RunJournal, logger: Logger) async -> Bool {
        let record = KafkaOutgoingRecord(
            topic: configuration.topics.approvals, key: journal.key, value: ApprovalMessage.journal(journal).encoded(),
            headers: headers(eventID: journal.eventID, source: nil))
        switch await send(record, logger: logger) {
        case .published:
            views.approvals.withLock { $0 }?.remember(journal)
            return true
        case .stopping, .gaveUp:
            return false
        case .rejected(let error):
            // Refused for good (too large): the run goes on; only a rerun after a crash in the
            // middle of it would not know what it changed.
            logger.error("run journal refused by the broker; the run goes on without one", metadata: ["kafka.error": "\(error)"])
            return true
        }
    }

    /// A tombstone for a published run's journal; compaction then removes it. Losing it is
    /// harmless: the event has a result, so it is not run again.
    private func forgetJournal(eventID: String, attempt: Int, logger: Logger) async {
        let key = RunJournal.key(eventID: eventID, attempt: attempt)
        guard let store = views.approvals.withLock({ $0 }), store.journal(eventID: eventID, attempt: attempt) != nil else { return }
        store.forget(journal: key)
        _ = await send(KafkaOutgoingRecord(topic: configuration.topics.approvals, key: key, value: nil, headers: []), logger: logger)
    }

    // MARK: Retries and dead letters

    /// Puts the configurations that failed transiently on the retry topic for the next attempt, or
    /// on the dead-letter topic after the last one. False when the pipeline is stopping.
    private func sendOnward(
        _ failed: [PSAItem], statesBefore: [String: OffboardingResult.PSAPrevious], grant: RetryRequest.ApprovalGrant?, of request: OffboardingRequest,
        clientID: String, clientName: String?, error lastError: String, after attempt: Int, source: KafkaRecord, logger: Logger
    ) async -> Bool {
        var next = RetryRequest(
            eventID: request.eventID, trigger: request.trigger, psa: configuration.psa, clientID: clientID, clientName: clientName,
            reason: request.options.reason, offboardedStatuses: request.options.offboardedStatuses, attempt: attempt + 1,
            configs: failed.map { RetryRequest.Item(configID: $0.id, configName: $0.name, previous: statesBefore[$0.id]) })
        // What the first attempt ran under travels with it, so that the next one is held to the same.
        next.dryRun = request.options.dryRun
        next.requireApproval = request.options.requireApproval
        next.approval = grant
        next.eventSource = request.eventSource
        let last = attempt >= configuration.retryTopicMaxAttempts
        // On a retry request: the attempt it asks for; on a dead letter: the last attempt made.
        var headers = [
            KafkaHeader(key: "retry.attempt", string: String(last ? attempt : attempt + 1)),
            KafkaHeader(key: "retry.error", string: lastError),
        ] + Self.sourceHeaders(prefix: "retry", of: source)
        let outgoing: KafkaOutgoingRecord
        if !last {
            headers.append(KafkaHeader(key: "retry.due", string: dueStamp(after: attempt)))
            headers += RecordTracing.outgoingHeaders
            outgoing = KafkaOutgoingRecord(topic: configuration.topics.retry, key: clientID, value: next.encoded(), headers: headers)
            statistics.update { $0.retriesScheduled += 1 }
        } else {
            headers += deadLetterHeaders(
                code: .configUpdateFailed, reason: "\(failed.count) configurations still failing after attempt \(attempt): \(lastError)", source: source)
            outgoing = KafkaOutgoingRecord(topic: configuration.topics.deadLetter, key: clientID, value: next.encoded(), headers: headers)
            statistics.update { $0.retriesExhausted += 1 }
            logger.error("configurations still failing after the last attempt; dead-lettered", metadata: ["offboarding.configs": "\(failed.count)"])
        }
        switch await send(outgoing, logger: logger) {
        case .published: return true
        case .stopping, .gaveUp: return false
        case .rejected(let error):
            logger.critical("retry request refused by the broker; the configurations are reported failed", metadata: ["kafka.error": "\(error)"])
            return true
        }
    }

    /// A record whose run found the PSA unreachable for longer than `retry.outage_max_wait`: moved
    /// to the retry topic as it is (an event or a decision) or as the next retry request, so that
    /// its partition moves on; after the last attempt, to the dead-letter topic.
    func deferAfterOutage(_ source: KafkaRecord, order: Admission.Order, error: PSAError, logger: Logger) async -> Published {
        statistics.update { $0.deferredAfterOutage += 1 }
        logger.error(
            "PSA unreachable past retry.outage_max_wait; the record moves to the retry topic",
            metadata: ["psa.error": "\(error.message)", "offboarding.attempt": "\(order.attempt)"])
        let request = order.request
        let kind: RetryKind
        switch order.work {
        case .retry(let retry):
            let clientID: String = if case .id(let id) = request.client { id } else { "" }
            return await sendOnward(
                retry.configurations, statesBefore: retry.statesBefore, grant: retry.approval, of: request, clientID: clientID, clientName: request.clientNameHint,
                error: error.description, after: order.attempt, source: source, logger: logger) ? .final : .notFinal
        case .execute, .decline: kind = .decision
        case .offboard, .restore: kind = .event
        }
        // The original record's own headers travel with it; the retry and source headers are replaced.
        var headers = source.headers.filter { !$0.key.hasPrefix("retry.") && !$0.key.hasPrefix("dlq.") && $0.key != "traceparent" }
        headers += [KafkaHeader(key: "retry.kind", string: kind.rawValue), KafkaHeader(key: "retry.error", string: error.description)]
        // Where it was first read, across moves.
        headers += Self.sourceHeaders(prefix: "retry", of: source).map { header in
            source.headers.last(named: header.key).map { KafkaHeader(key: header.key, value: $0.value) } ?? header
        }
        let outgoing: KafkaOutgoingRecord
        if order.attempt < configuration.retryTopicMaxAttempts {
            headers += [
                KafkaHeader(key: "retry.attempt", string: String(order.attempt + 1)),
                KafkaHeader(key: "retry.due", string: dueStamp(after: order.attempt)),
            ] + RecordTracing.outgoingHeaders
            outgoing = KafkaOutgoingRecord(topic: configuration.topics.retry, partition: nil, key: source.key, value: source.value, headers: headers)
            statistics.update { $0.retriesScheduled += 1 }
        } else {
            headers.append(KafkaHeader(key: "retry.attempt", string: String(order.attempt)))
            headers += deadLetterHeaders(
                code: .psaConnectionError, reason: "the PSA could not be reached after attempt \(order.attempt): \(error.description)", source: source)
            outgoing = KafkaOutgoingRecord(topic: configuration.topics.deadLetter, partition: nil, key: source.key, value: source.value, headers: headers)
            statistics.update { $0.retriesExhausted += 1 }
        }
        switch await send(outgoing, logger: logger) {
        case .published: return .final
        case .stopping, .gaveUp: return .notFinal
        case .rejected(let error): return .refused("the record could not be moved to the retry topic: \(error)")
        }
    }

    /// Puts the record as it was read on the dead-letter topic with the reason. False when the
    /// pipeline stopped first.
    func deadLetter(_ record: KafkaRecord, code: OffboardingErrorCode, reason: String, logger: Logger) async -> Bool {
        var outgoing = KafkaOutgoingRecord(
            topic: configuration.topics.deadLetter, partition: nil, key: record.key, value: record.value,
            headers: record.headers.filter { $0.key != "traceparent" } + deadLetterHeaders(code: code, reason: reason, source: record))
        var attempt = 0
        while true {
            switch await send(outgoing, logger: logger) {
            case .published:
                statistics.update { $0.deadLettered += 1 }
                return true
            case .stopping, .gaveUp:
                return false
            case .rejected(let error):
                // Even the dead letter is refused (an input larger than the broker accepts): keep the
                // key and reason, drop the value, so the record is still accounted for.
                attempt += 1
                guard attempt == 1, outgoing.value != nil else {
                    logger.critical("dead letter refused; the record stays unacknowledged", metadata: ["kafka.error": "\(error)"])
                    guard await sending.stopSignal.sleep(for: .seconds(30)) else { return false }
                    continue
                }
                outgoing.value = nil
                outgoing.headers.append(KafkaHeader(key: "dlq.value.dropped", string: "\(error)"))
            }
        }
    }

    // MARK: Headers

    /// The headers of every result and approval published, with the trace of the work that publishes it.
    func headers(eventID: String, source: String?) -> [KafkaHeader] {
        [
            KafkaHeader(key: "content-type", string: "application/json"),
            KafkaHeader(key: "offboarding.event.id", string: eventID),
            KafkaHeader(key: "offboarding.instance", string: configuration.instanceID),
        ] + (source.map { [KafkaHeader(key: ResultLedger.sourceHeader, string: $0)] } ?? []) + RecordTracing.outgoingHeaders
    }

    /// schemas/dead-letter-headers.md: the code, the reason and where the record was read.
    private func deadLetterHeaders(code: OffboardingErrorCode, reason: String, source: KafkaRecord) -> [KafkaHeader] {
        DeadLetterHeaders.make(code: code.rawValue, reason: reason, source: source) + RecordTracing.outgoingHeaders
    }

    static func sourceHeaders(prefix: String, of source: KafkaRecord) -> [KafkaHeader] {
        [
            KafkaHeader(key: "\(prefix).source.topic", string: source.topic),
            KafkaHeader(key: "\(prefix).source.partition", string: String(source.partition)),
            KafkaHeader(key: "\(prefix).source.offset", string: String(source.offset)),
        ]
    }

    /// When the attempt after `attempt` is due: the initial delay doubled per attempt, up to the longest.
    private func dueStamp(after attempt: Int) -> String {
        Timestamp.string(Date().addingTimeInterval(configuration.retryDelay(after: attempt).seconds), fractionalSeconds: true)
    }
}

/// What a retry-topic record carries, from its `retry.kind` header.
enum RetryKind: String {
    /// A retry request (schemas/retry-request.schema.json); records without the header are these.
    case configurations
    /// A company-status-changed event, as it was read, whose run found the PSA unreachable.
    case event
    /// An approval decision whose run found the PSA unreachable.
    case decision
}
