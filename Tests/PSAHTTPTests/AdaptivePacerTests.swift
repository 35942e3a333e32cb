import PSAHTTP
import Synchronization
import Testing

/// The pacer's arithmetic on a clock the test moves, and its waits in real time.
@Suite struct AdaptivePacerTests {
    final class ManualClock: Sendable {
        let instant = Mutex(ContinuousClock.now)
        var now: ContinuousClock.Instant { instant.withLock { $0 } }
        func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
    }

    @Test func aRefusalLowersTheRateAtOnceAndMostRefusedAfterItHalveIt() {
        let clock = ManualClock()
        let pacer = AdaptivePacer(configuration: .init(initialRate: 100, evidence: 1), now: { clock.now })
        #expect(pacer.pacing.rate == nil, "starting up")
        pacer.slowDown(sentAt: clock.now, retryAfter: nil)
        // Nothing accepted yet: no pace to learn from, so the rate is cut from its own.
        #expect(pacer.pacing.rate == 95)
        // A request sent before the decrease is the same episode.
        pacer.slowDown(sentAt: clock.now - .milliseconds(1), retryAfter: nil)
        #expect(pacer.pacing.rate == 95 && pacer.pacing.slowDowns == 1)
        // One or two refused after its hold are for the verdict to weigh; a third of three is a
        // window longer than a second.
        clock.advance(.seconds(1))
        for _ in 0..<2 {
            clock.advance(.milliseconds(200))
            pacer.slowDown(sentAt: clock.now, retryAfter: nil)
        }
        #expect(pacer.pacing.rate == 95 && pacer.pacing.slowDowns == 1)
        clock.advance(.milliseconds(200))
        pacer.slowDown(sentAt: clock.now, retryAfter: nil)
        #expect(pacer.pacing.rate == 47.5 && pacer.pacing.slowDowns == 2)
    }

    /// The README's start-up ramp: before anything is refused the rate starts at 100 a second and
    /// doubles every 400 ms, from the first request; a first refusal with nothing accepted yet cuts
    /// from where the ramp had got to.
    @Test(arguments: [(0, 100.0), (400, 200), (800, 400), (1200, 800), (2000, 3200)])
    func beforeAnyRefusalTheRateStartsAt100AndDoublesEvery400ms(elapsedMilliseconds: Int, ramp: Double) async throws {
        let clock = ManualClock()
        let pacer = AdaptivePacer(configuration: .init(evidence: 1), now: { clock.now })
        _ = try await pacer.acquire()
        clock.advance(.milliseconds(elapsedMilliseconds))
        #expect(pacer.pacing.rate == nil, "still starting up")
        pacer.slowDown(sentAt: clock.now, retryAfter: nil)
        let rate = try #require(pacer.pacing.rate)
        #expect(abs(rate - ramp * 0.95) < 1e-6, "\(rate) after \(elapsedMilliseconds) ms")
    }

    /// A PSA on the test's clock: it refuses past `limit` requests in any second, and every
    /// `background`-th request whatever the rate; the work sends at the pacer's rate, at most 100/s.
    final class PacedWork {
        let clock: ManualClock
        let pacer: AdaptivePacer
        var limit = Int.max
        var background = Int.max
        private var sent = 0
        private var accepted: [ContinuousClock.Instant] = []

        init(clock: ManualClock, pacer: AdaptivePacer) {
            self.clock = clock
            self.pacer = pacer
        }

        func run(for duration: Duration) {
            let end = clock.now + duration
            while clock.now < end {
                clock.advance(.seconds(1 / min(pacer.pacing.rate ?? 100, 100)))
                if let held = pacer.heldUntil, held > clock.now { clock.advance(held - clock.now) }
                sent += 1
                accepted.removeAll { $0 <= clock.now - .seconds(1) }
                if sent % background == 0 || accepted.count >= limit {
                    pacer.slowDown(sentAt: clock.now, retryAfter: nil)
                } else {
                    accepted.append(clock.now)
                    pacer.accepted(sentAt: clock.now, latency: .milliseconds(20))
                }
            }
        }
    }

    /// 6% of requests refused whatever the rate (a budget other integrations spend): the first
    /// refusal lowers the rate, the refusals that go on at the lower rate show it was not ours, and
    /// from then on the same share lowers it no more.
    @Test func refusalsThatGoOnAtALowerRateWhileMostSucceedAreNotOurs() {
        let clock = ManualClock()
        let work = PacedWork(clock: clock, pacer: AdaptivePacer(configuration: .init(initialRate: 100), now: { clock.now }))
        work.background = 16
        work.run(for: .seconds(2))
        #expect(work.pacer.pacing.slowDowns == 1, "the first refusal in a busy second is taken for ours: \(work.pacer.pacing)")
        work.run(for: .seconds(29))
        #expect(work.pacer.pacing.slowDowns == 1, "\(work.pacer.pacing)")
        #expect((work.pacer.pacing.rate ?? 0) >= 100, "back to the start-up rate it had: no limit was learnt: \(work.pacer.pacing)")
        #expect(work.pacer.pacing.refusalsNotOurs >= 150, "\(work.pacer.pacing)")
    }

    /// The same, and then a limit of 60 a second: refusals well beyond the tolerated share lower
    /// the rate to below the limit, and from there it probes no further than a fifth beyond it
    /// (the refusals a probe adds are told from the 6% once they are more than chance).
    @Test func aLimitOfOurOwnBeyondTheToleratedRefusalsStillLowersTheRate() {
        let clock = ManualClock()
        let work = PacedWork(clock: clock, pacer: AdaptivePacer(configuration: .init(initialRate: 100), now: { clock.now }))
        work.background = 16
        work.run(for: .seconds(10))
        let before = work.pacer.pacing.slowDowns
        work.limit = 60
        work.run(for: .seconds(10))
        #expect(work.pacer.pacing.slowDowns > before, "\(work.pacer.pacing)")
        var rates: [Double] = []
        for _ in 0..<600 {
            work.run(for: .milliseconds(100))
            rates.append(work.pacer.pacing.rate ?? .infinity)
        }
        #expect(rates.min()! >= 60 * 0.75 && rates.max()! <= 60 * 1.2, "\(rates.min()!) to \(rates.max()!) a second")
    }

    /// The work's own bounds (concurrency, Autotask's thread limit) kept the pace below the
    /// pacer's: a refusal then cuts from what the PSA took, or the pacer would stay out of reach.
    @Test func aRefusalCutsFromWhatThePSATookWhenTheWorkSetThePace() {
        let clock = ManualClock()
        let pacer = AdaptivePacer(configuration: .init(initialRate: 100), now: { clock.now })
        // Three seconds of start-up: the ramp allows 800/s, the work sends 60/s.
        for _ in 0..<180 {
            clock.advance(.microseconds(16_667))
            pacer.accepted(sentAt: clock.now, latency: .milliseconds(20))
        }
        pacer.slowDown(sentAt: clock.now, retryAfter: nil)
        let rate = try! #require(pacer.pacing.rate)
        #expect(abs(rate - 0.95 * 60) <= 1, "\(rate)")
    }

    @Test func aStallOfOurOwnJustBeforeARefusalDoesNotPinTheRateLow() {
        let clock = ManualClock()
        let pacer = AdaptivePacer(configuration: .init(initialRate: 100), now: { clock.now })
        for _ in 0..<180 {
            clock.advance(.microseconds(16_667))
            pacer.accepted(sentAt: clock.now, latency: .milliseconds(20))
        }
        // A loaded machine sends five in the last second, and the PSA then refuses one.
        for _ in 0..<5 {
            clock.advance(.milliseconds(200))
            pacer.accepted(sentAt: clock.now, latency: .milliseconds(20))
        }
        pacer.slowDown(sentAt: clock.now, retryAfter: nil)
        #expect(pacer.pacing.rate == nil && pacer.heldUntil == nil, "too few requests that second to say anything about a rate: \(pacer.pacing)")
        // Refused three times in that quiet second: the rate is cut, from the 60 a second the PSA
        // took moments ago, not the 5 of the stall.
        for _ in 0..<2 { pacer.slowDown(sentAt: clock.now, retryAfter: nil) }
        let rate = try! #require(pacer.pacing.rate)
        #expect(abs(rate - 0.95 * 60) <= 1.5, "\(rate)")
    }

    @Test func answersArrivingAfterARefusalStillCountTowardWhatThePSATook() {
        let clock = ManualClock()
        let pacer = AdaptivePacer(configuration: .init(initialRate: 100, evidence: 1), now: { clock.now })
        // Twenty sent within a second; on a slow PSA only five are answered when the 21st is refused.
        var sent: [ContinuousClock.Instant] = []
        for _ in 0..<20 {
            clock.advance(.milliseconds(45))
            sent.append(clock.now)
        }
        for instant in sent.prefix(5) { pacer.accepted(sentAt: instant, latency: .milliseconds(300)) }
        pacer.slowDown(sentAt: clock.now, retryAfter: nil)
        #expect(pacer.pacing.rate == 0.95 * 5)
        clock.advance(.milliseconds(300))
        for instant in sent.dropFirst(5) { pacer.accepted(sentAt: instant, latency: .milliseconds(600)) }
        let rate = try! #require(pacer.pacing.rate)
        #expect(abs(rate - 0.95 * 20) < 0.01, "the late answers count: \(rate)")
        #expect(pacer.pacing.lastRefusedAt == 20)
        // Answers to requests sent after the refusal are not part of that second.
        pacer.accepted(sentAt: clock.now, latency: .milliseconds(20))
        #expect(pacer.pacing.lastRefusedAt == 20)
    }

    @Test func onASlowPSATheSecondBeforeTheRefusedRequestWasSentIsWhatCounts() {
        let clock = ManualClock()
        let start = clock.now
        let pacer = AdaptivePacer(configuration: .init(initialRate: 100, evidence: 1), now: { clock.now })
        // Twenty sent in the first second, answered 1.5 s later; the 21st, sent at 0.95 s, refused.
        let sent = (0..<20).map { start + .milliseconds(45 * ($0 + 1)) }
        clock.advance(.milliseconds(1_500))
        for instant in sent {
            clock.advance(.milliseconds(5))
            pacer.accepted(sentAt: instant, latency: .milliseconds(1_500))
        }
        pacer.slowDown(sentAt: start + .milliseconds(950), retryAfter: nil)
        let rate = try! #require(pacer.pacing.rate)
        #expect(abs(rate - 0.95 * 20) < 0.01, "not the few sent within a second of the refusal's answer: \(rate)")
    }

    @Test func theRateRecoversToJustBelowTheRefusalThenProbesSlowly() {
        let clock = ManualClock()
        let pacer = AdaptivePacer(configuration: .init(initialRate: 100, evidence: 1, recovery: 0.02, plateau: 0.95, probeAfter: .seconds(30), probe: 0.01), now: { clock.now })
        pacer.slowDown(sentAt: clock.now, retryAfter: nil)
        clock.advance(.seconds(1))
        for _ in 0..<3 {
            clock.advance(.milliseconds(100))
            pacer.slowDown(sentAt: clock.now, retryAfter: nil)
        }
        let low = try! #require(pacer.pacing.rate)
        #expect(low == 47.5)
        // Ten seconds of answers: two percent of the refused-at rate (95) a second.
        for _ in 0..<100 {
            clock.advance(.milliseconds(100))
            pacer.accepted(sentAt: clock.now, latency: .milliseconds(20))
        }
        let recovering = try! #require(pacer.pacing.rate)
        #expect(abs(recovering - (47.5 + 19)) < 0.5, "\(recovering)")
        for _ in 0..<300 {
            clock.advance(.milliseconds(100))
            pacer.accepted(sentAt: clock.now, latency: .milliseconds(20))
        }
        #expect(pacer.pacing.rate == 95 * 0.95, "held just below where the PSA refused")
        for _ in 0..<150 {
            clock.advance(.milliseconds(100))
            pacer.accepted(sentAt: clock.now, latency: .milliseconds(20))
        }
        let probing = try! #require(pacer.pacing.rate)
        #expect(probing > 95 * 0.95 && probing < 95, "probing above the plateau, slowly: \(probing)")
    }

    @Test func latencyFarAboveTheUsualCountsAsASlowDownAtMostEveryTwoSeconds() {
        let clock = ManualClock()
        let pacer = AdaptivePacer(configuration: .init(initialRate: 100, latencySignal: .milliseconds(400)), now: { clock.now })
        for _ in 0..<10 {
            clock.advance(.milliseconds(10))
            pacer.accepted(sentAt: clock.now, latency: .milliseconds(80), operation: "PATCH /ConfigurationItems")
        }
        // A slow listing is no signal beside updates: each kind of call has its own usual latency.
        for _ in 0..<5 { pacer.accepted(sentAt: clock.now, latency: .milliseconds(900), operation: "POST /ConfigurationItems/query") }
        #expect(pacer.pacing.slowDowns == 0)
        pacer.accepted(sentAt: clock.now, latency: .milliseconds(600), operation: "PATCH /ConfigurationItems")
        #expect(pacer.pacing.slowDowns == 1)
        let lowered = try! #require(pacer.pacing.rate)
        clock.advance(.milliseconds(500))
        pacer.accepted(sentAt: clock.now, latency: .milliseconds(600), operation: "PATCH /ConfigurationItems")
        #expect(pacer.pacing.slowDowns == 1 && pacer.pacing.rate == lowered)
        clock.advance(.seconds(2))
        pacer.accepted(sentAt: clock.now, latency: .milliseconds(600), operation: "PATCH /ConfigurationItems")
        #expect(pacer.pacing.slowDowns == 2 && pacer.pacing.rate! < lowered)
    }

    @Test func retryAfterOfARefusalOfOursHoldsEveryRequestUntilItPasses() async throws {
        let pacer = AdaptivePacer()
        // A busy second: enough answers that a refusal says something about the rate.
        for _ in 0..<pacer.configuration.evidence { pacer.accepted(sentAt: .now, latency: .milliseconds(5)) }
        let sent = try await pacer.acquire()
        pacer.slowDown(sentAt: sent, retryAfter: .milliseconds(300))
        let asked = ContinuousClock.now
        let next = try await pacer.acquire()
        #expect(next - asked >= .milliseconds(290), "held \(next - asked)")
    }

    @Test func aCancelledWaitLetsNothingThrough() async {
        let pacer = AdaptivePacer()
        pacer.slowDown(sentAt: .now, retryAfter: .seconds(60))
        let waiting = Task { try await pacer.acquire() }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }
}
