import Foundation
import OffboardingCore
import Synchronization

/// Spaces a PSA's requests at a rate it learns from the PSA's answers, so that a limit nobody
/// configured, or a budget other integrations are spending, costs a few 429s rather than hundreds.
///
/// Before the first "slow down" it starts at `initialRate` and doubles it every `startupDoubling`,
/// so an unknown limit is met at a few times its rate rather than at full speed, and only the few
/// requests in flight at that moment are refused (the ramp costs a fresh process some speed: see
/// the README's benchmark).
///
/// A "slow down" (429, or a PSA's own equivalent) is ours when the share of refusals among the
/// requests sent in the second before it is above what the PSA refuses whatever our rate (none,
/// until learnt). Ours holds every request until its `Retry-After` (a second when it gives none) and lowers the rate at once to
/// `decrease` of what the PSA accepted in that second. The decrease is then judged by the next
/// `verdictAnswers` answers: refusals that go on at the lower rate while most requests succeed are
/// not about our rate (a budget other integrations spend, a throttled node), so the rate goes back
/// to where it was and that share is tolerated from then on; when most are refused the window is
/// longer than a second or the budget is spent, and the rate is multiplied by `repeatedDecrease`.
/// A refusal that is not ours only makes the refused request wait its `Retry-After`.
///
/// Between decreases the rate climbs back to just below where the PSA last refused, stays there,
/// and after `probeAfter` probes slowly beyond it: additive increase, multiplicative decrease.
/// Latency far above the usual, Autotask's usage-based slow-down, lowers the rate too.
///
/// One pacer serves every caller of a transport: all offboardings in the process share it.
public final class AdaptivePacer: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Requests per second before any slow-down has been seen.
        public var initialRate: Double
        /// Until the first slow-down the rate doubles this often.
        public var startupDoubling: Duration
        /// A slow-down sets the rate to this share of what the PSA accepted in the last second.
        public var decrease: Double
        /// When most requests sent after a decrease are refused too, the rate is multiplied by this.
        public var repeatedDecrease: Double
        /// Answers to requests sent after a decrease that judge it (or whatever came in five seconds).
        public var verdictAnswers: Int
        /// Answers in the second before a refusal below which it lowers no rate (unless several
        /// were refused): too few requests to say anything about a rate.
        public var evidence: Int
        /// The share of refusals learnt to be no signal of our rate halves this often unless seen again.
        public var toleranceHalfLife: Duration
        /// How long a refusal of ours without `Retry-After` holds every request: the shortest window
        /// a PSA counts in, so that the requests after it are not refused by what filled the last one.
        public var unsaidRetryAfter: Duration
        /// Below `plateau` of the rate the PSA last refused at, the rate climbs by this share of
        /// that rate per second.
        public var recovery: Double
        public var plateau: Double
        /// After this long at the plateau without a slow-down, the rate probes above it, growing by
        /// `probe` of itself per second.
        public var probeAfter: Duration
        public var probe: Double
        /// The rate never falls below this (requests per second).
        public var minimumRate: Double
        /// Latency this much above the fastest recent answer is read as a slow-down; nil reads none.
        public var latencySignal: Duration?

        public init(
            initialRate: Double = 100, startupDoubling: Duration = .milliseconds(400), decrease: Double = 0.95, repeatedDecrease: Double = 0.5,
            verdictAnswers: Int = 50, evidence: Int = 25, toleranceHalfLife: Duration = .seconds(30), unsaidRetryAfter: Duration = .seconds(1), recovery: Double = 0.02, plateau: Double = 0.95, probeAfter: Duration = .seconds(30), probe: Double = 0.01,
            minimumRate: Double = 0.05, latencySignal: Duration? = nil
        ) {
            self.initialRate = max(initialRate, 0.001)
            self.startupDoubling = max(startupDoubling, .milliseconds(1))
            self.decrease = min(max(decrease, 0.01), 1)
            self.repeatedDecrease = min(max(repeatedDecrease, 0.01), 1)
            self.verdictAnswers = max(verdictAnswers, 1)
            self.evidence = max(evidence, 1)
            self.toleranceHalfLife = max(toleranceHalfLife, .seconds(1))
            self.unsaidRetryAfter = max(unsaidRetryAfter, .zero)
            self.recovery = max(recovery, 0)
            self.plateau = min(max(plateau, 0.01), 1)
            self.probeAfter = probeAfter
            self.probe = max(probe, 0)
            self.minimumRate = max(minimumRate, 0.001)
            self.latencySignal = latencySignal
        }
    }

    private struct State {
        var startedAt: ContinuousClock.Instant?
        /// Set once the PSA has said "slow down"; until then the startup rate applies.
        var rate: Double?
        var nextSlot: ContinuousClock.Instant
        var lastDecrease: ContinuousClock.Instant?
        var lastAdjust: ContinuousClock.Instant
        var lastRefusedAt: Double?
        var plateauSince: ContinuousClock.Instant?
        var holdUntil: ContinuousClock.Instant?
        /// Moves on whenever the rate is lowered, so that turns given out before are taken again.
        var epoch = 0
        var slowDowns = 0
        /// When the requests the PSA accepted in the last second were sent.
        var acceptedSends = SlidingInstants(span: .seconds(1))
        /// The same over five seconds, for the second before a refused request was sent: on a slow
        /// PSA or a loaded machine its answer comes more than a second later.
        var recentAcceptedSends = SlidingInstants(span: .seconds(5))
        /// The most the PSA accepted in one second lately: a stall of our own just before a refusal
        /// (a loaded machine, a slow listing) leaves the last second short of what the PSA takes.
        var acceptedPeak = RecentPeak(span: .seconds(5))
        /// The second before the last slow-down, and what the PSA accepted of the requests sent in
        /// it so far: answers that arrive after the refusal (a slow PSA, a loaded machine) still
        /// say what the PSA took, and raise the rate learnt from it.
        var refusal: Refusal?
        /// Recent answers per operation, the fastest of which is the usual latency.
        var latencies: [String: RecentLatencies] = [:]
        /// Every answer of the last few seconds, refused or not, by when its request was sent.
        var answers = AnswerLog(span: .seconds(10))
        /// The last decrease while it is being judged.
        var decrease: Decrease?
        /// The answers to requests sent after each decrease, at a rate lowered: their refusals are
        /// the share the PSA answers whatever our rate. When one was last seen.
        var background = AnswerLog.Share()
        var backgroundSeenAt: ContinuousClock.Instant?
        var refusalsNotOurs = 0

        init(nextSlot: ContinuousClock.Instant, lastAdjust: ContinuousClock.Instant) {
            self.nextSlot = nextSlot
            self.lastAdjust = lastAdjust
        }
    }

    private struct Refusal {
        var from: ContinuousClock.Instant
        var at: ContinuousClock.Instant
        var accepted: Int
        /// The rate when the PSA refused: late answers never raise the learnt rate above it.
        var ceiling: Double
    }

    /// A decrease on trial: requests sent from `judgedFrom` (the end of its hold) show the share the
    /// PSA refuses at the lower rate, against which the share that caused it (`trigger`) is weighed.
    /// `first` is the refusal that began a run of decreases and the rate before it.
    private struct Decrease {
        var trigger: AnswerLog.Share
        var judgedFrom: ContinuousClock.Instant
        var at: ContinuousClock.Instant
        var rateBefore: Double
        var refusedAtBefore: Double?
        var first: (trigger: AnswerLog.Share, rate: Double, refusedAt: Double)
    }

    public let configuration: Configuration
    private let state: Mutex<State>
    private let now: @Sendable () -> ContinuousClock.Instant

    public convenience init(configuration: Configuration = .init()) {
        self.init(configuration: configuration, now: { .now })
    }

    /// - Parameter now: the clock the rate is computed by; waits are always in real time.
    package init(configuration: Configuration, now: @escaping @Sendable () -> ContinuousClock.Instant) {
        self.configuration = configuration
        self.now = now
        let start = now()
        self.state = Mutex(State(nextSlot: start, lastAdjust: start))
    }

    public var pacing: PSAPacing {
        state.withLock { PSAPacing(rate: $0.rate, lastRefusedAt: $0.lastRefusedAt, slowDowns: $0.slowDowns, refusalsNotOurs: $0.refusalsNotOurs) }
    }

    /// Until when every request is held, for a test that moves the clock itself.
    package var heldUntil: ContinuousClock.Instant? { state.withLock { $0.holdUntil } }

    /// Waits for this request's turn and returns when it was sent.
    /// - Throws: `CancellationError` when cancelled while waiting; the request must then not go out.
    public func acquire() async throws(CancellationError) -> ContinuousClock.Instant {
        while true {
            if Task.isCancelled { throw CancellationError() }
            let (wait, epoch) = state.withLock { state -> (Duration, Int?) in
                let now = self.now()
                if let hold = state.holdUntil, hold > now { return (hold - now, nil) }
                let rate = currentRate(&state, now: now)
                let slot = max(now, state.nextSlot)
                state.nextSlot = slot + .seconds(1 / rate)
                return (slot - now, state.epoch)
            }
            if wait > .zero {
                do { try await Task.sleep(for: wait) } catch { throw CancellationError() }
            }
            // A turn given out before the rate was lowered is taken again at the new rate.
            if let epoch, state.withLock({ $0.epoch == epoch }) { return self.now() }
        }
    }

    /// The PSA accepted a request sent at `sentAt` (any answer but a slow-down) after `latency`;
    /// `operation` names the kind of call (a listing is slower than an update, and that is no signal).
    public func accepted(sentAt: ContinuousClock.Instant, latency: Duration, operation: String = "") {
        state.withLock { state in
            let now = self.now()
            state.answers.record(sentAt: sentAt, refused: false, now: now)
            judge(&state, now: now)
            state.acceptedSends.append(sentAt, now: now)
            state.recentAcceptedSends.append(sentAt, now: now)
            state.acceptedPeak.record(state.acceptedSends.count(now: now), at: now)
            countLate(&state, sentAt: sentAt, now: now)
            if let signal = configuration.latencySignal, state.latencies[operation, default: RecentLatencies()].isSlow(latency, by: signal) {
                congested(&state, now: now, sentAt: sentAt)
                return
            }
            guard var rate = state.rate, let refusedAt = state.lastRefusedAt else { return }
            let elapsed = (now - state.lastAdjust).seconds
            state.lastAdjust = now
            let top = refusedAt * configuration.plateau
            if rate < top {
                rate = min(top, rate + configuration.recovery * refusedAt * elapsed)
                if rate >= top { state.plateauSince = now }
            } else if let since = state.plateauSince {
                if now - since >= configuration.probeAfter { rate += configuration.probe * rate * elapsed }
            } else {
                state.plateauSince = now
            }
            state.rate = rate
        }
    }

    /// The PSA said "slow down" to a request sent at `sentAt`, and perhaps when to come back.
    public func slowDown(sentAt: ContinuousClock.Instant, retryAfter: Duration?) {
        state.withLock { state in
            let now = self.now()
            state.answers.record(sentAt: sentAt, refused: true, now: now)
            // Requests already on their way when the rate was lowered say nothing about the new
            // rate, but the PSA's wait still holds: its budget is the tenant's.
            if let last = state.lastDecrease, sentAt < last {
                if now - last < .seconds(2) { hold(&state, retryAfter, now: now) }
                return
            }
            if let decrease = state.decrease {
                let since = state.answers.share(sentAfter: decrease.judgedFrom, through: now, now: now)
                // Most of what went out after the decrease refused too: a window longer than a second,
                // or a budget spent elsewhere. Anything less is for the verdict to weigh.
                guard since.refused >= 3, since.refused * 2 > since.answered else {
                    judge(&state, now: now)
                    return
                }
                hold(&state, retryAfter ?? configuration.unsaidRetryAfter, now: now)
                let refusedAt = state.lastRefusedAt
                // Halved from what the PSA took, not from a start-up ramp that nobody reached.
                let current = accepted(&state, below: currentRate(&state, now: now), now: now)
                set(&state, rate: current * configuration.repeatedDecrease, refusedAt: current, now: now)
                state.refusal = nil
                state.decrease = Decrease(
                    trigger: since, judgedFrom: max(now, state.holdUntil ?? now), at: now, rateBefore: current, refusedAtBefore: refusedAt,
                    first: decrease.first)
                return
            }
            let recent = state.answers.share(sentAfter: sentAt - .seconds(1), through: sentAt, now: now)
            guard beyondTolerated(recent, state, now: now) else {
                // The share the PSA refuses whatever our rate: the refused request waits on its own.
                state.refusalsNotOurs += 1
                state.backgroundSeenAt = now
                return
            }
            // One refusal among the few requests of a quiet second (the first listing, a retry on
            // its own) says nothing about a rate: the refused request waits on its own. Three say
            // the budget is spent, whoever spent it.
            guard recent.answered >= configuration.evidence || recent.refused >= 3 else {
                state.refusalsNotOurs += 1
                return
            }
            hold(&state, retryAfter ?? configuration.unsaidRetryAfter, now: now)
            // Before any decrease the rate is the start-up ramp's: going back means going back to
            // where it was, not ramping on from there.
            let rate = currentRate(&state, now: now)
            lower(&state, trigger: recent, sentAt: sentAt, first: (recent, rate, state.lastRefusedAt ?? rate), now: now)
        }
    }

    /// Cuts from what the PSA took in the last second, whoever set that pace: the pacer, or the
    /// work's own bounds (concurrency, Autotask's thread limit), where the pacer's rate is only a
    /// ceiling nobody reached and cutting it would change nothing. The second before the refused
    /// request was sent is the PSA's window as it refused.
    private func lower(
        _ state: inout State, trigger: AnswerLog.Share, sentAt: ContinuousClock.Instant, first: (trigger: AnswerLog.Share, rate: Double, refusedAt: Double),
        now: ContinuousClock.Instant
    ) {
        let current = currentRate(&state, now: now)
        let before = (rate: current, refusedAt: state.lastRefusedAt ?? current)
        let beforeRefused = state.recentAcceptedSends.count(sentAfter: sentAt - .seconds(1), through: sentAt, now: now)
        let base = min(current, max(Double(beforeRefused), accepted(&state, below: current, now: now)))
        set(&state, rate: base * configuration.decrease, refusedAt: base, now: now)
        state.refusal = Refusal(from: sentAt - .seconds(1), at: sentAt, accepted: beforeRefused, ceiling: current)
        state.decrease = Decrease(
            trigger: trigger, judgedFrom: max(now, state.holdUntil ?? now), at: now, rateBefore: before.rate, refusedAtBefore: before.refusedAt,
            first: first)
    }

    /// Holds every request until the PSA's `Retry-After` has passed.
    private func hold(_ state: inout State, _ retryAfter: Duration?, now: ContinuousClock.Instant) {
        guard let retryAfter, retryAfter > .zero else { return }
        state.holdUntil = max(state.holdUntil ?? now, now + retryAfter)
    }

    /// Once enough requests sent after the last decrease are answered, three of them refused, or
    /// five seconds passed:
    /// - refusals back within what the PSA refuses whatever our rate: the decrease stands, and
    ///   their share is that of the PSA;
    /// - fewer than half the share that caused it, more than twice and a quarter of all, or most:
    ///   the refusals follow our rate, and the rate is lowered again;
    /// - about the same share: they do not follow our rate. That share is the PSA's, and the rate
    ///   goes back to before this decrease, or before the first of the run if what began it is no
    ///   longer beyond the PSA's share.
    private func judge(_ state: inout State, now: ContinuousClock.Instant) {
        guard let decrease = state.decrease else { return }
        let since = state.answers.share(sentAfter: decrease.judgedFrom, through: now, now: now)
        guard since.answered >= configuration.verdictAnswers || since.refused >= 3 || now - decrease.at >= .seconds(5) else { return }
        state.decrease = nil
        guard beyondTolerated(since, state, now: now) else {
            learnBackground(&state, since, now: now)
            return
        }
        // A share that rose is only read as ours when it is large: a refusal or two more than the
        // few that began it is what a share the PSA refuses anyway looks like.
        let fell = since.value * 2 < decrease.trigger.value
        let rose = since.value > decrease.trigger.value * 2 && since.value >= 0.25
        if fell || rose || since.refused * 2 > since.answered {
            lower(&state, trigger: since, sentAt: now, first: decrease.first, now: now)
            return
        }
        learnBackground(&state, since, now: now)
        state.refusalsNotOurs += since.refused
        let back = beyondTolerated(decrease.first.trigger, state, now: now) ? (decrease.rateBefore, decrease.refusedAtBefore) : (decrease.first.rate, decrease.first.refusedAt)
        state.rate = max(back.0, state.rate ?? 0)
        state.lastRefusedAt = back.1
        state.refusal = nil
        state.plateauSince = nil
        state.lastAdjust = now
    }

    /// Pooled over every verdict, the recent ones weighing most.
    private func learnBackground(_ state: inout State, _ share: AnswerLog.Share, now: ContinuousClock.Instant) {
        if state.background.answered > 2_000 {
            state.background.answered /= 2
            state.background.refused /= 2
        }
        state.background.answered += share.answered
        state.background.refused += share.refused
        if share.refused > 0 { state.backgroundSeenAt = now }
    }

    /// More refusals than the PSA answers whatever our rate could give by chance: three standard
    /// deviations beyond that share, and more than one (any at all before a share is known).
    private func beyondTolerated(_ share: AnswerLog.Share, _ state: State, now: ContinuousClock.Instant) -> Bool {
        let tolerated = toleratedShare(state, now: now)
        guard tolerated > 0 else { return share.refused > 0 }
        let expected = tolerated * Double(share.answered)
        return Double(share.refused) > expected + 3 * (expected * (1 - tolerated)).squareRoot() + 1
    }

    /// The share of refusals learnt to be no signal, fading while none is seen.
    private func toleratedShare(_ state: State, now: ContinuousClock.Instant) -> Double {
        guard let seen = state.backgroundSeenAt, state.background.refused > 0 else { return 0 }
        return min(state.background.value, 0.5) * exp2(-((now - seen).seconds / configuration.toleranceHalfLife.seconds))
    }

    /// An answer, after a slow-down, to a request sent in the second before the refused one: one
    /// more the PSA took in that second. Counted for a few seconds, until the rate is lowered again.
    private func countLate(_ state: inout State, sentAt: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        guard var refusal = state.refusal, now - refusal.at < .seconds(5) else {
            state.refusal = nil
            return
        }
        guard sentAt > refusal.from, sentAt <= refusal.at else { return }
        refusal.accepted += 1
        state.refusal = refusal
        let base = min(refusal.ceiling, Double(refusal.accepted))
        guard let refusedAt = state.lastRefusedAt, base > refusedAt else { return }
        state.lastRefusedAt = base
        state.rate = max(state.rate ?? 0, base * configuration.decrease)
    }

    /// Latency far above the usual: lower the rate a little, at most every two seconds.
    private func congested(_ state: inout State, now: ContinuousClock.Instant, sentAt: ContinuousClock.Instant) {
        if let last = state.lastDecrease, sentAt < last || now - last < .seconds(2) { return }
        state.refusal = nil
        let base = accepted(&state, below: currentRate(&state, now: now), now: now)
        set(&state, rate: base * configuration.decrease, refusedAt: base * configuration.decrease / configuration.plateau, now: now)
    }

    /// The most the PSA accepted in a second lately, when it is below `current`; `current` when
    /// nothing was accepted (no pace to learn from).
    private func accepted(_ state: inout State, below current: Double, now: ContinuousClock.Instant) -> Double {
        let accepted = Double(max(state.acceptedSends.count(now: now), state.acceptedPeak.peak(now: now)))
        return accepted > 0 ? min(current, accepted) : current
    }

    private func set(_ state: inout State, rate: Double, refusedAt: Double, now: ContinuousClock.Instant) {
        let rate = max(configuration.minimumRate, rate)
        state.rate = rate
        state.lastRefusedAt = refusedAt
        state.lastDecrease = now
        state.lastAdjust = now
        state.plateauSince = nil
        state.slowDowns += 1
        state.epoch += 1
        state.nextSlot = max(now, state.holdUntil ?? now)
    }

    private func currentRate(_ state: inout State, now: ContinuousClock.Instant) -> Double {
        if let rate = state.rate { return rate }
        let started = state.startedAt ?? now
        state.startedAt = started
        let doublings = min((now - started).seconds / configuration.startupDoubling.seconds, 40)
        return configuration.initialRate * exp2(doublings)
    }
}

/// The last answers' latencies of one kind of call.
struct RecentLatencies: Sendable {
    private var values: [Duration] = []
    private var next = 0

    /// Records `latency` and says whether it exceeds the fastest recent one by `signal`.
    mutating func isSlow(_ latency: Duration, by signal: Duration) -> Bool {
        let window = 64
        if values.count < window {
            values.append(latency)
        } else {
            values[next] = latency
            next = (next + 1) % window
        }
        guard values.count >= 4, let fastest = values.min() else { return false }
        return latency - fastest >= signal
    }
}

/// Instants within the last `span`, counted without keeping older ones.
struct SlidingInstants: Sendable {
    let span: Duration
    private var instants: [ContinuousClock.Instant] = []
    private var head = 0

    init(span: Duration) { self.span = span }

    mutating func append(_ instant: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        trim(now: now)
        instants.append(instant)
    }

    mutating func count(now: ContinuousClock.Instant) -> Int {
        trim(now: now)
        return instants.count - head
    }

    /// How many of those kept fall after `start` and at or before `end`.
    mutating func count(sentAfter start: ContinuousClock.Instant, through end: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Int {
        trim(now: now)
        return instants[head...].count { $0 > start && $0 <= end }
    }

    private mutating func trim(now: ContinuousClock.Instant) {
        while head < instants.count, instants[head] <= now - span { head += 1 }
        if head > 64, head * 2 > instants.count {
            instants.removeFirst(head)
            head = 0
        }
    }
}

/// The highest count recorded within the last `span`.
struct RecentPeak: Sendable {
    let span: Duration
    /// Counts in the order recorded, each lower than the one before: a count that a later, higher
    /// one outlives can never be the peak again.
    private var counts: [(at: ContinuousClock.Instant, count: Int)] = []

    init(span: Duration) { self.span = span }

    mutating func record(_ count: Int, at now: ContinuousClock.Instant) {
        while let last = counts.last, last.count <= count { counts.removeLast() }
        counts.append((now, count))
    }

    mutating func peak(now: ContinuousClock.Instant) -> Int {
        counts.removeAll { $0.at <= now - span }
        return counts.first?.count ?? 0
    }
}
