import Dispatch
import Synchronization

/// A blocking librdkafka call made on a serial queue, awaited for at most a bound. librdkafka 2.0.2
/// can block for ever in a few calls (closing a cooperative-sticky member while a rebalance is
/// still under way is one), and a stop must not hang on it: past the bound the caller goes on and
/// the call is left to finish, or not, on its queue.
enum BoundedBlockingCall {
    /// Runs `call` on `queue` and says whether it returned within `limit`.
    static func run(on queue: DispatchQueue, atMost limit: Duration, _ call: @escaping @Sendable () -> Void) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let waiter = Mutex<CheckedContinuation<Bool, Never>?>(continuation)
            let resume: @Sendable (Bool) -> Void = { finished in
                waiter.withLock { $0.take() }?.resume(returning: finished)
            }
            queue.async {
                call()
                resume(true)
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(limit.milliseconds))) { resume(false) }
        }
    }
}
