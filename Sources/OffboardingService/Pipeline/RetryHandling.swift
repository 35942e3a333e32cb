import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// The retry topic: retry requests (configurations whose update failed transiently), and records
/// moved there after an outage outlasted `retry.outage_max_wait`. The poll loop holds a record
/// until it is due; here it runs.
extension OffboardingPipeline {
    /// What a retry-topic record carries, from its `retry.kind` header.
    enum RetryKind: String {
        /// A retry request (schemas/retry-request.schema.json); records without the header are these.
        case configurations
        /// A company-status-changed event, as it was read, whose run found the PSA unreachable.
        case event
        /// An approval decision whose run found the PSA unreachable.
        case decision
    }

    func processRetry(_ work: Work, logger: Logger) async {
        let kindHeader = work.record.headers.last(named: "retry.kind")?.stringValue
        let attemptHeader = work.record.headers.last(named: "retry.attempt")?.stringValue.flatMap(Int.init)
        switch kindHeader.flatMap(RetryKind.init(rawValue:)) ?? (kindHeader == nil ? .configurations : nil) {
        case .event?, .decision?:
            guard let attempt = attemptHeader, RetryRequest.attempts.contains(attempt) else {
                await deadLetter(work, code: .invalidEvent, reason: "retry.attempt must be a number from 2 to 1000", logger: logger)
                return
            }
            var logger = logger
            logger[metadataKey: "offboarding.attempt"] = "\(attempt)"
            statistics.update { $0.retriesRun += 1 }
            if kindHeader == RetryKind.event.rawValue {
                await processEvent(work, attempt: attempt, logger: logger)
            } else {
                await processApproval(work, attempt: attempt, logger: logger)
            }
        case .configurations?:
            await processRetryRequest(work, logger: logger)
        case nil:
            await deadLetter(work, code: .invalidEvent, reason: "retry.kind \(kindHeader ?? "") is not event, decision or configurations", logger: logger)
        }
    }

    /// Deactivates exactly the request's configurations, publishes the follow-up result, and passes
    /// what still fails on to the next attempt or, after the last, to the dead-letter topic.
    private func processRetryRequest(_ work: Work, logger: Logger) async {
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
        statistics.update { $0.retriesRun += 1 }
        let offboarder = self.offboarder
        let request = retry.request(defaults: configuration.defaults)
        await runAndPublish(
            work, request: request, attempt: retry.attempt, journalAttempt: retry.attempt, logger: logger, retrying: retry.configurations,
            retryingStates: retry.statesBefore, retryingGrant: retry.approval
        ) { journaling in
            await offboarder.retry(
                retry.configurations, for: request, attempt: retry.attempt, statesBefore: retry.statesBefore, grant: retry.approval, journaling: journaling)
        }
    }

    /// The wait before `attempt` + 1: the initial delay doubled per attempt, up to the longest.
    func retryDelay(after attempt: Int) -> Duration {
        min(configuration.retryTopicInitialDelay * (1 << min(max(attempt, 1) - 1, 20)), configuration.retryTopicMaxDelay)
    }

    /// Puts the configurations that failed transiently on the retry topic for the next attempt, or
    /// on the dead-letter topic after the last one. False when the pipeline is stopping.
    func sendOnward(
        _ failed: [PSAConfiguration], statesBefore: [String: OffboardingResult.PSAPrevious], grant: RetryRequest.ApprovalGrant?, of request: OffboardingRequest,
        clientID: String, clientName: String?, error lastError: String, after attempt: Int, work: Work, logger: Logger
    ) async -> Bool {
        var next = RetryRequest(
            eventID: request.eventID, trigger: request.trigger, psa: configuration.psa, clientID: clientID, clientName: clientName,
            reason: request.options.reason, offboardedStatuses: request.options.offboardedStatuses, attempt: attempt + 1,
            configs: failed.map { RetryRequest.Config(configID: $0.id, configName: $0.name, previous: statesBefore[$0.id]) })
        // What the first attempt ran under travels with it, so that the next one is held to the same.
        next.dryRun = request.options.dryRun
        next.requireApproval = request.options.requireApproval
        next.approval = grant
        next.eventSource = request.eventSource
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
        switch await publish(outgoing, logger: logger) {
        case .published: return true
        case .stopping: return false
        case .rejected(let error):
            logger.critical("retry request refused by the broker; the configurations are reported failed", metadata: ["kafka.error": "\(error)"])
            return true
        }
    }

    /// A record whose run found the PSA unreachable for longer than `retry.outage_max_wait`: moved
    /// to the retry topic as it is (an event or a decision) or as the next retry request, so that
    /// its partition moves on; after the last attempt, to the dead-letter topic.
    func deferAfterOutage(
        _ work: Work, request: OffboardingRequest, retrying: [PSAConfiguration]?, retryingStates: [String: OffboardingResult.PSAPrevious],
        retryingGrant: RetryRequest.ApprovalGrant?, attempt: Int, error: PSAError, logger: Logger
    ) async {
        statistics.update { $0.deferredAfterOutage += 1 }
        logger.error(
            "PSA unreachable past retry.outage_max_wait; the record moves to the retry topic",
            metadata: ["psa.error": "\(error.message)", "offboarding.attempt": "\(attempt)"])
        if let retrying {
            let clientID: String = if case .id(let id) = request.client { id } else { "" }
            guard await sendOnward(
                retrying, statesBefore: retryingStates, grant: retryingGrant, of: request, clientID: clientID, clientName: request.clientNameHint, error: error.description,
                after: attempt, work: work, logger: logger)
            else { return }
            complete(work, logger: logger)
            return
        }
        let source = work.record
        let kind: RetryKind = source.topic == configuration.topics.approvals || source.headers.last(named: "retry.kind")?.stringValue == RetryKind.decision.rawValue ? .decision : .event
        // The original record's own headers travel with it; the retry and source headers are replaced.
        var headers = source.headers.filter { !$0.key.hasPrefix("retry.") && !$0.key.hasPrefix("dlq.") && $0.key != "traceparent" }
        let origin = (
            topic: source.headers.last(named: "retry.source.topic")?.stringValue ?? source.topic,
            partition: source.headers.last(named: "retry.source.partition")?.stringValue ?? String(source.partition),
            offset: source.headers.last(named: "retry.source.offset")?.stringValue ?? String(source.offset))
        headers += [
            KafkaHeader(key: "retry.kind", string: kind.rawValue),
            KafkaHeader(key: "retry.error", string: error.description),
            KafkaHeader(key: "retry.source.topic", string: origin.topic),
            KafkaHeader(key: "retry.source.partition", string: origin.partition),
            KafkaHeader(key: "retry.source.offset", string: origin.offset),
        ]
        let outgoing: KafkaOutgoingRecord
        if attempt < configuration.retryTopicMaxAttempts {
            headers += [
                KafkaHeader(key: "retry.attempt", string: String(attempt + 1)),
                KafkaHeader(key: "retry.due", string: dueStamp(after: attempt)),
            ] + RecordTracing.outgoingHeaders
            outgoing = KafkaOutgoingRecord(topic: configuration.topics.retry, partition: nil, key: source.key, value: source.value, headers: headers)
            statistics.update { $0.retriesScheduled += 1 }
        } else {
            headers.append(KafkaHeader(key: "retry.attempt", string: String(attempt)))
            headers += deadLetterHeaders(code: .psaConnectionError, reason: "the PSA could not be reached after attempt \(attempt): \(error.description)", source: source)
            outgoing = KafkaOutgoingRecord(topic: configuration.topics.deadLetter, partition: nil, key: source.key, value: source.value, headers: headers)
            statistics.update { $0.retriesExhausted += 1 }
        }
        switch await publish(outgoing, logger: logger) {
        case .published: complete(work, logger: logger)
        case .stopping: return
        case .rejected(let error):
            await deadLetter(work, code: .processingFailed, reason: "the record could not be moved to the retry topic: \(error)", logger: logger)
        }
    }

    private func dueStamp(after attempt: Int) -> String {
        Timestamp.string(Date().addingTimeInterval(retryDelay(after: attempt).seconds), fractionalSeconds: true)
    }
}
