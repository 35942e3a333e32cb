import OffboardingCore
import Synchronization

/// A client's assets as a recent listing showed them (id → notes), shared by the concurrent
/// batches of one offboarding so that checking that each asset still exists, and reading the notes
/// a reason line is appended to, costs one listing every few seconds, not one request per asset.
/// Only the batches of one event share a listing: another event's (a restore right after the
/// offboarding) would append to notes that predate the writes, and overwrite their lines.
/// A failed listing is not kept.
final class ClientAssetListings: Sendable {
    private struct Entry {
        var listing: Task<Result<[Int: String], PSAError>, Never>
        var startedAt: ContinuousClock.Instant
    }

    private struct Key: Hashable {
        var client: Int
        var event: String
    }

    private let entries = Mutex<[Key: Entry]>([:])
    /// Listings older than this are dropped, so the map holds only what is in use.
    private let retention: Duration

    init(retention: Duration) {
        self.retention = retention
    }

    /// The client's assets (id → notes) from a listing for the same event started at most `maxAge`
    /// ago, or from `list` now.
    func assets(
        ofClient client: Int, event: String, maxAge: Duration, list: @escaping @Sendable () async -> Result<[Int: String], PSAError>
    ) async -> Result<[Int: String], PSAError> {
        let key = Key(client: client, event: event)
        let listing = entries.withLock { entries -> Task<Result<[Int: String], PSAError>, Never> in
            let now = ContinuousClock.now
            entries = entries.filter { now - $0.value.startedAt <= retention }
            if let entry = entries[key], now - entry.startedAt <= maxAge { return entry.listing }
            let task = Task { await list() }
            entries[key] = Entry(listing: task, startedAt: now)
            return task
        }
        let result = await listing.value
        if case .failure = result {
            entries.withLock { entries in
                if entries[key]?.listing == listing { entries[key] = nil }
            }
        }
        return result
    }
}
