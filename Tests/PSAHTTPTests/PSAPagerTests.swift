import Logging
import OffboardingCore
import OffboardingTestSupport
import PSAHTTP
import Synchronization
import Testing

/// The one pager every adapter's listings go through, on pages the test makes up.
@Suite struct PSAPagerTests {
    /// The warnings a pager logs, kept for the test to read.
    final class Warnings: Sendable {
        let messages = Mutex<[String]>([])

        var logger: Logger {
            Logger(label: "pager-test") { _ in Handler(warnings: self) }
        }

        struct Handler: LogHandler {
            let warnings: Warnings
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .warning

            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }

            func log(event: LogEvent) {
                guard event.level >= .warning else { return }
                warnings.messages.withLock { $0.append("\(event.message)") }
            }
        }
    }

    let base = "https://psa.example/v4_6_release/apis/3.0"

    @Test func theBoundIsANamedSettingAndItsDefaultIsTheOldOne() {
        #expect(PSAPager.defaultMaxPages == 100_000)
        #expect(PSAPager(psa: "X", logger: .test()).maxPages == PSAPager.defaultMaxPages)
        #expect(PSAPager(psa: "X", logger: .test(), maxPages: 0).maxPages == 1, "a bound that reads nothing would hide every listing")
    }

    @Test func followsNextLinksUntilThereIsNone() async throws {
        let pager = PSAPager(psa: "ConnectWise", logger: .test())
        var asked: [String] = []
        let items = try await pager.following(
            base: base, what: "rows",
            first: { () async throws(PSAError) in (items: [1, 2], next: base + "/rows?page=2") },
            next: { (url: String) async throws(PSAError) in
                asked.append(url)
                return url.hasSuffix("2") ? (items: [3, 4], next: base + "/rows?page=3") : (items: [5], next: nil)
            })
        #expect(items == [1, 2, 3, 4, 5])
        #expect(asked == [base + "/rows?page=2", base + "/rows?page=3"])
    }

    @Test(arguments: [
        "https://elsewhere.example/v4_6_release/apis/3.0/rows?page=2",  // another host
        "http://psa.example/v4_6_release/apis/3.0/rows?page=2",  // another scheme
        "https://psa.example:8443/v4_6_release/apis/3.0/rows?page=2",  // another port
        "https://psa.example/v2022_1/apis/3.0/rows?page=2",  // the host, but out of the API
    ])
    func refusesALinkThatLeavesTheBaseURL(link: String) async throws {
        let pager = PSAPager(psa: "Autotask", logger: .test())
        var followed = 0
        do throws(PSAError) {
            _ = try await pager.following(
                base: base, what: "rows", first: { () async throws(PSAError) in (items: [1], next: link) },
                next: { (_: String) async throws(PSAError) in
                    followed += 1
                    return (items: [Int](), next: nil)
                })
            Issue.record("an off-origin link was accepted")
        } catch {
            #expect(error.code == .psaConnectionError)
            #expect(error.message == "Autotask paging link leaves the configured base URL: \(link)")
        }
        #expect(followed == 0, "the credentials must not go to the link")
    }

    /// Checked whenever one is given: an empty last page does not make a hostile link harmless.
    @Test func refusesAnOffOriginLinkEvenOnAnEmptyPage() async throws {
        let pager = PSAPager(psa: "ConnectWise", logger: .test())
        await #expect(throws: PSAError.self) {
            _ = try await pager.following(
                base: base, what: "rows", first: { () async throws(PSAError) in (items: [Int](), next: "https://elsewhere.example/x") },
                next: { (_: String) async throws(PSAError) in (items: [Int](), next: nil) })
        }
    }

    @Test func anEmptyPageEndsTheListingWhateverItsLinkSays() async throws {
        let pager = PSAPager(psa: "ConnectWise", logger: .test())
        var followed = 0
        let items = try await pager.following(
            base: base, what: "rows", first: { () async throws(PSAError) in (items: [1], next: base + "/rows?page=2") },
            next: { (_: String) async throws(PSAError) in
                followed += 1
                return (items: [Int](), next: base + "/rows?page=3")
            })
        #expect(items == [1] && followed == 1)
    }

    @Test func stopsAtTheBoundAndSaysSo() async throws {
        let warnings = Warnings()
        let pager = PSAPager(psa: "HaloPSA", logger: warnings.logger, maxPages: 3)
        var read: [Int] = []
        let items = try await pager.collect(from: 1, what: "assets of client 7") { (page: Int, _) async throws(PSAError) in
            read.append(page)
            return (items: [page], next: page + 1)
        }
        #expect(items == [1, 2, 3] && read == [1, 2, 3])
        #expect(warnings.messages.withLock { $0 } == ["listing stopped at the page bound; later pages are not read"])
    }

    @Test func aListingThatEndsAtTheBoundIsNoWarning() async throws {
        let warnings = Warnings()
        let pager = PSAPager(psa: "HaloPSA", logger: warnings.logger, maxPages: 3)
        let items = try await pager.collect(from: 1, what: "rows") { (page: Int, _) async throws(PSAError) in
            (items: [page], next: page < 3 ? page + 1 : nil)
        }
        #expect(items == [1, 2, 3])
        #expect(warnings.messages.withLock { $0 }.isEmpty)
    }

    @Test func numberedPagesRunUntilTheRecordCount() async throws {
        let pager = PSAPager(psa: "HaloPSA", logger: .test())
        let rows = Array(1...7)
        var asked: [Int] = []
        let items = try await pager.numbered(what: "assets") { (page: Int) async throws(PSAError) in
            asked.append(page)
            return (items: Array(rows.dropFirst((page - 1) * 3).prefix(3)), total: rows.count)
        }
        #expect(items == rows && asked == [1, 2, 3])
    }

    @Test func aNumberedPageWithoutACountIsTheLast() async throws {
        let pager = PSAPager(psa: "HaloPSA", logger: .test())
        var asked = 0
        let items = try await pager.numbered(what: "assets") { (_: Int) async throws(PSAError) in
            asked += 1
            return (items: [1, 2], total: nil)
        }
        #expect(items == [1, 2] && asked == 1)
    }

    @Test func anEmptyNumberedPageEndsTheListingShortOfItsCount() async throws {
        let pager = PSAPager(psa: "HaloPSA", logger: .test())
        var asked = 0
        let items = try await pager.numbered(what: "assets") { (page: Int) async throws(PSAError) in
            asked += 1
            return (items: page == 1 ? [1] : [], total: 10)
        }
        #expect(items == [1] && asked == 2)
    }

    @Test func aFailedPageFailsTheListing() async throws {
        let pager = PSAPager(psa: "HaloPSA", logger: .test())
        await #expect(throws: PSAError.self) {
            _ = try await pager.numbered(what: "assets") { (page: Int) async throws(PSAError) -> (items: [Int], total: Int?) in
                guard page == 1 else { throw PSAError(code: .psaConnectionError, message: "down") }
                return (items: [1], total: 5)
            }
        }
    }
}
