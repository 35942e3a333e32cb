import Logging
import OffboardingCore

/// Reads a listing page by page until the PSA says there is no more, a page comes back empty, or
/// `maxPages` pages have been read. A PSA that always names a next page (a bug, or a listing that
/// grows as it is read) cannot keep a run reading forever. Reaching the bound keeps what was read
/// and logs a warning: the run goes on with a listing that may be cut short, and the log says so.
public struct PSAPager: Sendable {
    /// At the largest page sizes (500 to 1,000 rows) this is tens of millions of rows, far past
    /// any real client, yet a finite bound on a listing that never ends.
    public static let defaultMaxPages = 100_000

    public let psa: String
    public let maxPages: Int
    private let logger: Logger

    public init(psa: String, logger: Logger, maxPages: Int = Self.defaultMaxPages) {
        self.psa = psa
        self.logger = logger
        self.maxPages = max(1, maxPages)
    }

    /// Every item from `start` on: `page` reads the page at a cursor and says where the next one
    /// is, nil when there is none. `collected` is how many items the pages before it held.
    public func collect<Item, Cursor>(
        from start: Cursor, what: String, page: (_ cursor: Cursor, _ collected: Int) async throws(PSAError) -> (items: [Item], next: Cursor?)
    ) async throws(PSAError) -> [Item] {
        var items: [Item] = []
        var cursor = start
        var pages = 0
        while true {
            let (batch, next) = try await page(cursor, items.count)
            pages += 1
            items += batch
            guard let next, !batch.isEmpty else { break }
            guard pages < maxPages else {
                logger.warning(
                    "listing stopped at the page bound; later pages are not read",
                    metadata: ["psa": "\(psa)", "psa.listing": "\(what)", "psa.pages": "\(pages)", "psa.items": "\(items.count)"])
                break
            }
            cursor = next
        }
        return items
    }

    /// Pages linked by URL (a `Link: rel=next` header, a `nextPageUrl`): `first` reads the first
    /// page, `next` the page at a link. A link is refused whenever it is given, followed or not,
    /// unless it stays under `base`, since the credentials go with the request that follows it.
    public func following<Item>(
        base: String, what: String,
        first: () async throws(PSAError) -> (items: [Item], next: String?),
        next: (String) async throws(PSAError) -> (items: [Item], next: String?)
    ) async throws(PSAError) -> [Item] {
        try await collect(from: Link.first, what: what) { (link: Link, _) async throws(PSAError) -> (items: [Item], next: Link?) in
            let page: (items: [Item], next: String?)
            switch link {
            case .first: page = try await first()
            case .at(let url): page = try await next(url)
            }
            guard let url = page.next else { return (page.items, nil) }
            guard PSAOrigin.isWithin(url, base: base) else {
                throw PSAError(code: .psaConnectionError, message: "\(psa) paging link leaves the configured base URL: \(url)")
            }
            return (page.items, .at(url))
        }
    }

    private enum Link {
        case first
        case at(String)
    }

    /// Pages by number from 1, while the PSA's count of records (`record_count`) is more than the
    /// pages so far held; a page without a count is taken to be the last.
    public func numbered<Item>(
        what: String, page: (_ number: Int) async throws(PSAError) -> (items: [Item], total: Int?)
    ) async throws(PSAError) -> [Item] {
        try await collect(from: 1, what: what) { (number: Int, collected: Int) async throws(PSAError) -> (items: [Item], next: Int?) in
            let (items, total) = try await page(number)
            let held = collected + items.count
            return (items, held < (total ?? held) ? number + 1 : nil)
        }
    }
}
