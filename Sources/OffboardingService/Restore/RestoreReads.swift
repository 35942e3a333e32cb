import OffboardingCore
import PSAHTTP
import Synchronization

/// Reads of the results topic for restores, at most `limit` at once: each reads the whole topic
/// with a consumer of its own (threads, connections, fetch buffers), and anyone with an API token
/// or a restore event can ask for one. A request from the HTTP API waits for a slot behind at most
/// `maxWaiting` others and is refused beyond (429 with `Retry-After`); a restore event waits.
final class RestoreReads: Sendable {
    /// The reads running at once, at most.
    static let defaultLimit = 2
    /// Requests from the HTTP API that may wait for a slot; more are refused.
    static let maxWaiting = 8

    private let slots: AsyncSemaphore
    private let state = Mutex((running: 0, mostAtOnce: 0, started: 0))

    init(limit: Int = defaultLimit) {
        slots = AsyncSemaphore(permits: limit)
    }

    /// Every slot is taken and enough requests wait: a request from the HTTP API is refused now.
    var isFull: Bool { slots.isFull && slots.waiting >= Self.maxWaiting }

    /// Runs the read in a slot, waiting for one.
    /// - Throws: `CancellationError` when cancelled while waiting; the body's error.
    func read<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let outcome: Result<T, any Error> = try await slots.withPermit {
            state.withLock { state in
                state.running += 1
                state.started += 1
                state.mostAtOnce = max(state.mostAtOnce, state.running)
            }
            defer { state.withLock { $0.running -= 1 } }
            do {
                return .success(try await body())
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    /// The most reads that ran at once, and how many started in all; for tests and diagnostics.
    var mostAtOnce: Int { state.withLock { $0.mostAtOnce } }
    var started: Int { state.withLock { $0.started } }
}
