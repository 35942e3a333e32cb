import Foundation
import Metrics
import Synchronization

/// Whether the consumer loop is alive. librdkafka 2.0.2 does not put a member whose processing
/// hangs out of its group (polling any queue resets max.poll.interval.ms, #4176), so the pipeline
/// watches itself: the poll loop must turn, and work in flight must make progress.
public struct PipelineHealth: Sendable, Hashable, CustomStringConvertible {
    public enum State: Sendable, Hashable, CustomStringConvertible {
        /// Not yet polled, or no partitions assigned yet.
        case starting
        case healthy
        /// The poll loop or the work in flight stopped moving; the reason says which and for how long.
        case stalled(reason: String)
        /// Records wait for a PSA that cannot be reached; the process is fine, restarting it would not help.
        case waitingOnPSA(reason: String)
        case stopped

        /// `healthy`, `stalled: …`, `waiting_on_psa: …`: what the health routes show.
        public var description: String {
            switch self {
            case .starting: "starting"
            case .healthy: "healthy"
            case .stalled(let reason): "stalled: \(reason)"
            case .waitingOnPSA(let reason): "waiting_on_psa: \(reason)"
            case .stopped: "stopped"
            }
        }
    }

    public var state: State
    public var recordsInFlight: Int
    public var partitionsAssigned: Int

    public var isLive: Bool {
        if case .stalled = state { return false }
        return true
    }

    public var description: String { "\(state), \(recordsInFlight) in flight, \(partitionsAssigned) partitions" }
}

/// The times the health check reads; written by the poll loop and by the work in flight. The poll
/// loop's turns are also metrics: when it last polled (Prometheus takes the time since from a
/// timestamp), the records it holds, and those waiting out a PSA outage.
final class PipelineHeartbeat: Sendable {
    struct Beats {
        var lastPoll: ContinuousClock.Instant?
        var lastProgress: ContinuousClock.Instant = .now
        var stopped = false
        /// Records waiting out a PSA outage, and the last outage's error.
        var waitingOnPSA = 0
        var outage = ""
    }

    let beats = Mutex(Beats())
    private let lastPollGauge = Gauge(label: "psa_offboarder_last_poll_timestamp_seconds")
    private let inFlightGauge = Gauge(label: "psa_offboarder_records_in_flight")
    private let waitingGauge = Gauge(label: "psa_offboarder_records_waiting_on_psa")

    /// - Parameter inFlight: records fetched and not yet finished.
    func polled(inFlight: Int) {
        beats.withLock { $0.lastPoll = .now }
        lastPollGauge.record(Date().timeIntervalSince1970)
        inFlightGauge.record(inFlight)
    }
    /// A record finished, or a PSA call within one returned.
    func progressed() { beats.withLock { $0.lastProgress = .now } }
    func stopped() { beats.withLock { $0.stopped = true } }

    func outageBegan(_ error: String) {
        let waiting = beats.withLock {
            $0.waitingOnPSA += 1
            $0.outage = error
            return $0.waitingOnPSA
        }
        waitingGauge.record(waiting)
    }

    func outageEnded() { waitingGauge.record(beats.withLock { $0.waitingOnPSA -= 1; return $0.waitingOnPSA }) }
}
