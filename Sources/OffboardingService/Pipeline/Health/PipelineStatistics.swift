import Metrics
import Synchronization
import Tracing

/// Counters of what the pipeline did with the records it read: kept for the health routes and
/// tests, and each change counted in `psa_offboarder_records_total{topic,outcome}` for Prometheus.
public final class PipelineStatistics: Sendable {
    public struct Snapshot: Sendable, Hashable {
        public init() {}

        public var received = 0
        /// Valid events whose status is not an offboarded one.
        public var filtered = 0
        public var deadLettered = 0
        public var resultsPublished = 0
        public var offsetsStored = 0
        /// Offsets librdkafka refused to store (it refuses for partitions not assigned).
        public var offsetStoreFailures = 0
        /// Records that finished after their partition was revoked: their offsets are not stored,
        /// the partition's next owner reads them again.
        public var finishedAfterRevoke = 0
        /// Events skipped because their result was already on the results topic (redelivered after a crash).
        public var alreadyPublished = 0
        /// Retry requests put on the retry topic, run when due, and given up (dead-lettered).
        public var retriesScheduled = 0
        public var retriesRun = 0
        public var retriesExhausted = 0
        /// Times fetching was paused because the pipeline stayed full.
        public var fetchPauses = 0
        /// Sends to Kafka that failed and were repeated.
        public var publishRetries = 0
        /// Times a record was tried again because the PSA could not be reached.
        public var outageRetries = 0
        /// Records moved to the retry topic because the PSA stayed unreachable past `retry.outage_max_wait`.
        public var deferredAfterOutage = 0
        /// Times a retry partition was paused because its head record was not due yet.
        public var retriesDelayed = 0
        /// Records still running when `shutdown.grace` ran out: cancelled, offsets unstored, redelivered.
        public var cancelledAtGrace = 0
        /// Runs that found the journal of an earlier, interrupted run of the same event.
        public var runsResumed = 0
        /// Records fetched but given up at shutdown before they started (redelivered later).
        public var abandonedAtShutdown = 0
        /// Records not started because their partition was being revoked (its next owner runs them).
        public var leftForNextOwner = 0
        /// Records running on partitions being revoked, which the revocation waited for.
        public var awaitedAtRevocation = 0
        /// Approvals written pending, and final states (approved, rejected, expired) written.
        public var approvalsRequested = 0
        public var approvalsDecided = 0
        /// Decisions about an approval that was already decided.
        public var approvalDecisionsIgnored = 0
        /// Records of the service's own topics, and restore requests, without a valid signature:
        /// dead-lettered, nothing done.
        public var unauthenticated = 0
    }

    private let state = Mutex(Snapshot())
    /// One counter per topic and outcome, each made once: the filter path updates these per batch.
    private let counters = Mutex<[String: [Counter]]>([:])

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// - Parameter topic: the topic of the records counted; by default the one of the record whose
    ///   work is running (set by its span), and `none` outside any.
    func update(topic: String? = nil, _ body: (inout Snapshot) -> Void) {
        let (before, after) = state.withLock { state -> (Snapshot, Snapshot) in
            let before = state
            body(&state)
            return (before, state)
        }
        var counters: [Counter]?
        for (index, (_, count)) in Self.outcomes.enumerated() {
            let added = count(after) - count(before)
            guard added > 0 else { continue }
            counters = counters ?? self.counters(topic: topic ?? ServiceContext.current?.recordTopic ?? "none")
            counters?[index].increment(by: added)
        }
    }

    private func counters(topic: String) -> [Counter] {
        counters.withLock { made in
            if let existing = made[topic] { return existing }
            let new = Self.outcomes.map { outcome, _ in
                Counter(label: "psa_offboarder_records_total", dimensions: [("topic", topic), ("outcome", outcome)])
            }
            made[topic] = new
            return new
        }
    }

    /// What became of the records read, by the name of the outcome.
    private static let outcomes: [(String, @Sendable (Snapshot) -> Int)] = [
        ("received", { $0.received }), ("filtered", { $0.filtered }), ("dead_lettered", { $0.deadLettered }),
        ("result_published", { $0.resultsPublished }), ("already_published", { $0.alreadyPublished }),
        ("sent_to_retry", { $0.retriesScheduled }), ("retry_run", { $0.retriesRun }), ("retries_exhausted", { $0.retriesExhausted }),
        ("deferred_after_outage", { $0.deferredAfterOutage }), ("left_for_next_owner", { $0.leftForNextOwner }),
        ("cancelled_at_grace", { $0.cancelledAtGrace }), ("unauthenticated", { $0.unauthenticated }),
    ]
}
