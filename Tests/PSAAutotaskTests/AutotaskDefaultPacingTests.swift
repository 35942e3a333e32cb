import OffboardingTestSupport
import PSAAutotask
import PSAHTTP
import Synchronization
import Testing

/// Autotask's default pacing against its hourly threshold (10,000 requests in any rolling hour),
/// on a clock moved by hand so that the hour passes in milliseconds.
@Suite(.timeLimit(.minutes(1)))
struct AutotaskDefaultPacingTests {
    @Test func theDefaultPacingNeverPassesTheHourlyThreshold() async throws {
        let limit = try #require(AutotaskClient.Configuration.defaultHTTP.rateLimit)
        #expect(limit == .init(maxRequests: 10_000, per: .seconds(3600)), "Autotask's documented threshold")
        let clock = ManualRateLimiterClock()
        let start = clock.now
        let limiter = RequestRateLimiter(limit: limit, clock: clock)
        // When each request started, after the first: written by the tasks below.
        let starts = Mutex<[Duration]>([])
        var started: [Duration] { starts.withLock { $0 } }
        let request: @Sendable () async throws -> Void = {
            let ticket = try await limiter.acquire()
            starts.withLock { $0.append(clock.now - start) }
            limiter.finish(ticket)
        }
        // Ten bursts of 1,000, six seconds apart: the whole hour's budget within a minute, unpaced.
        for burst in 1...10 {
            clock.advance(by: .seconds(6))
            for _ in 0..<1_000 { try await request() }
            #expect(clock.sleeps == 0, "burst \(burst) went out without waiting")
        }
        // The next request waits until the first burst has left the window: an hour after it.
        let next = Task { try await request() }
        try await clock.waitForSleepers(1)
        clock.advance(to: start + .seconds(3606) - .milliseconds(1))
        try await clock.waitForSleepers(1)
        #expect(started.count == 10_000, "nothing more before the hour is over")
        clock.advance(by: .milliseconds(1))
        try await next.value
        #expect(started.last == .seconds(3606))
        // The first burst's places are free again, and only those.
        for _ in 0..<999 { try await request() }
        let sleepsBefore = clock.sleeps
        let after = Task { try await request() }
        try await clock.waitForSleepers(1)
        #expect(clock.sleeps == sleepsBefore + 1 && started.count == 11_000)
        clock.advance(by: .seconds(6))
        try await after.value
        #expect(started.last == .seconds(3612))

        // In any window of an hour, never more than the threshold.
        let all = started
        var first = 0
        for (index, time) in all.enumerated() {
            while all[first] <= time - .seconds(3600) { first += 1 }
            #expect(index - first + 1 <= 10_000, "\(index - first + 1) requests in the hour up to \(time)")
            if index - first + 1 > 10_000 { break }
        }
    }
}

/// The rate limiter's clock on time the test moves.
struct ManualRateLimiterClock: RateLimiterClock {
    let time = ManualTime(ContinuousClock.now)

    var now: ContinuousClock.Instant { time.now }
    /// Calls to `sleep` so far.
    var sleeps: Int { time.sleeps }

    func sleep(for duration: Duration) async throws { try await time.sleep(until: time.now + duration) }
    func advance(by duration: Duration) { time.advance(to: time.now + duration) }
    func advance(to instant: ContinuousClock.Instant) { time.advance(to: instant) }

    /// Returns once `count` tasks sleep on the clock.
    func waitForSleepers(_ count: Int) async throws {
        try await time.waitForSleepers("\(count) requests waiting for their turn") { $0.count == count }
    }
}
