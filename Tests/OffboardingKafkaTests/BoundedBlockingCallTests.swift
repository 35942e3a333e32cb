import Dispatch
import Synchronization
import Testing

@testable import OffboardingKafka

/// A stop never hangs on a librdkafka call that does not return: the caller is let go at the
/// bound, and a call that returns in time is reported as finished.
@Suite(.timeLimit(.minutes(1)))
struct BoundedBlockingCallTests {
    @Test func aCallThatNeverReturnsLetsTheCallerGoAtTheBound() async {
        let queue = DispatchQueue(label: "bounded-call-test.blocked")
        let release = DispatchSemaphore(value: 0)
        let started = ContinuousClock.now
        let finished = await BoundedBlockingCall.run(on: queue, atMost: .milliseconds(300)) { release.wait() }
        let waited = ContinuousClock.now - started
        #expect(!finished)
        #expect(waited >= .milliseconds(300), "the caller was let go before the bound, after \(waited)")
        // The call is left running on its queue; let it end so the queue is not left blocked.
        release.signal()
        #expect(await BoundedBlockingCall.run(on: queue, atMost: .seconds(30)) {}, "the queue serves calls again once the blocked one returns")
    }

    @Test func aCallThatReturnsInTimeIsReportedFinishedAndRanOnce() async {
        let queue = DispatchQueue(label: "bounded-call-test.quick")
        let runs = Mutex(0)
        let finished = await BoundedBlockingCall.run(on: queue, atMost: .seconds(30)) { runs.withLock { $0 += 1 } }
        #expect(finished)
        #expect(runs.withLock { $0 } == 1)
    }
}
