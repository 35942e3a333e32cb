import Synchronization

/// Counters of what the pipeline did with the records it read.
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
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }
}
