import OffboardingCore
import Synchronization

/// A value fetched once and shared by concurrent callers (a status list, a zone, a token). A failed
/// fetch is not kept: the next caller tries again.
public final class CachedValue<Value: Sendable>: Sendable {
    private let task = Mutex<Task<Value, any Error>?>(nil)

    public init() {}

    public func get(_ fetch: @escaping @Sendable () async throws(PSAError) -> Value) async throws(PSAError) -> Value {
        let current = task.withLock { current in
            if let current { return current }
            let fetching = Task { () async throws -> Value in try await fetch() }
            current = fetching
            return fetching
        }
        do {
            return try await current.value
        } catch {
            task.withLock { if $0 == current { $0 = nil } }
            throw (error as? PSAError) ?? PSAError(code: .psaConnectionError, message: "\(error)")
        }
    }

    /// Drops the value so that the next `get` fetches anew (an expired token, say).
    public func invalidate() {
        task.withLock { $0 = nil }
    }
}
