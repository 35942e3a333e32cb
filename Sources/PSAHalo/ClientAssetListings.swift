import OffboardingCore
import Synchronization

/// A client's assets as a recent listing showed them (id → notes), shared by the concurrent
/// batches of one offboarding so that checking that each asset still exists, and reading the notes
/// a reason line is appended to, costs one listing every few seconds, not one request per asset.
/// A failed listing is not kept.
final class ClientAssetListings: Sendable {
    private struct Entry {
        var listing: Task<Result<[Int: String], PSAError>, Never>
        var startedAt: ContinuousClock.Instant
    }

    private let entries = Mutex<[Int: Entry]>([:])
    /// Listings older than this are dropped, so the map holds only what is in use.
    private let retention: Duration

    init(retention: Duration) {
        self.retention = retention
    }

    /// The client's assets (id → notes) from a listing started at most `maxAge` ago, or from `list` now.
    func assets(
        ofClient client: Int, maxAge: Duration, list: @escaping @Sendable () async -> Result<[Int: String], PSAError>
    ) async -> Result<[Int: String], PSAError> {
        let listing = entries.withLock { entries -> Task<Result<[Int: String], PSAError>, Never> in
            let now = ContinuousClock.now
            entries = entries.filter { now - $0.value.startedAt <= retention }
            if let entry = entries[client], now - entry.startedAt <= maxAge { return entry.listing }
            let task = Task { await list() }
            entries[client] = Entry(listing: task, startedAt: now)
            return task
        }
        let result = await listing.value
        if case .failure = result {
            entries.withLock { entries in
                if entries[client]?.listing == listing { entries[client] = nil }
            }
        }
        return result
    }
}
