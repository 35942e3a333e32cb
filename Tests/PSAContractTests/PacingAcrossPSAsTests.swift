import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// A limit nobody configured, on every PSA: the adapter's pacer finds it at the cost of a few 429s,
/// once for all the clients offboarded at the same time; without learning, the same work collects
/// many. Halo writes one asset a request here, so that there are requests enough to pace. The limit
/// sits well below what the work reaches on a loaded 2-core machine, so that the premise holds
/// whatever the machine's speed: at 60 a second it sometimes never bound, and at 20 ConnectWise
/// (one request a configuration, the fewest of the three) twice never met it in a loaded full-suite run.
@Suite(.timeLimit(.minutes(3)))
struct PacingAcrossPSAsTests {
    static let limit = 10
    static let perClient = 60

    func offboardTwoClients(_ psa: PSAKind, adaptive: Bool) async throws -> (refused: Int, pacing: PSAPacing?, results: [OffboardingResult]) {
        try await PSAUnderTest.serving(psa, adjust: { $0.adjusted(adaptive: adaptive, haloBatchSize: 1) }) { tenant, client in
            await tenant.setRollingLimit(maxRequests: Self.limit, window: .seconds(1))
            await tenant.setLatency(.milliseconds(5))
            let first = await tenant.addClient(id: 820_001, name: "Pacing One", offboarded: true, active: Self.perClient, inactive: 0)
            let second = await tenant.addClient(id: 820_002, name: "Pacing Two", offboarded: true, active: Self.perClient, inactive: 0)
            let offboarder = Offboarder(psa: client, logger: .test())
            async let one = offboarder.run(.init(eventID: "one", trigger: .api, client: .id("820001"), options: .init(offboardedStatuses: ["Inactive", "Offboarded"])))
            async let two = offboarder.run(.init(eventID: "two", trigger: .api, client: .id("820002"), options: .init(offboardedStatuses: ["Inactive", "Offboarded"])))
            let results = await [one, two]
            // Learning finishes the work. Without it, a write can use up its repeats on 429s and
            // stay active: that run is only the contrast in 429s.
            if adaptive {
                for id in first + second { #expect(await tenant.isConfigurationActive(id) == false, "\(psa) \(id)") }
            }
            return (await tenant.rateLimited, client.pacing, results)
        }
    }

    @Test(arguments: PSAKind.allCases)
    func anUnknownLimitCostsAFew429sSharedByEveryClient(psa: PSAKind) async throws {
        let learnt = try await offboardTwoClients(psa, adaptive: true)
        #expect(learnt.results.allSatisfy { $0.success && $0.statistics.configsDeactivated == Self.perClient })
        // Meeting the limit costs the requests in flight then: up to the two clients' bounds (2 x 8)
        // on a loaded machine where answers are slow. On a quiet machine the limit is met once
        // (1–3 refusals here, see also the benchmark); in full-suite runs, where stalls bunch a
        // second's requests, three or four times (33–48 refusals seen). The bound is the scenario's:
        // the requests in flight, four times over, 64, about half the 120 writes of ConnectWise
        // (the fewest) and a tenth of the 590 a pacer that does not learn collects here; not the
        // pacer's own count of slow-downs.
        #expect(learnt.refused <= 2 * Offboarder.Configuration.defaultMaxConcurrentUpdates * 4, "\(psa): \(learnt.refused) answered 429, \(String(describing: learnt.pacing))")
        // A stall on a loaded machine can bunch a few paced requests into one second of the PSA's
        // window and cost one more slow-down of 5%: 1 to 5 in fifteen full-suite runs, 6 in one
        // (HaloPSA). A pacer that never lowers its rate is refused again and again: 11 slow-downs
        // on ConnectWise and 25 on the others when that was tried.
        #expect((learnt.pacing?.slowDowns ?? 0) <= 8, "\(psa): \(String(describing: learnt.pacing))")
        let rate = try #require(learnt.pacing?.rate, "\(psa): the pacer met the limit (\(learnt.refused) answered 429)")
        // Near the limit: what the PSA accepted in a second is counted by send times, which a
        // loaded machine spreads, so the estimate can sit a little above the limit until the next refusal.
        #expect(rate <= Double(Self.limit) * 1.1, "\(psa): learnt \(rate)/s")
        // And not far below it. A known weakness (README, *Known gaps*): a second in which the
        // process itself stalled (this suite runs ninety at once on two cores) looks like a low
        // limit, and the first decrease cuts to it: 2.3 to 4.75 a second was learnt in four of
        // about twenty full-suite runs on 2026-12-07. Recorded as a known issue when it happens, so
        // that it shows in every run's output, until the pacer reads the PSA's window rather than
        // its own send times.
        withKnownIssue("the pacer took a stalled second for the limit", isIntermittent: true) {
            #expect(rate >= Double(Self.limit) / 2, "\(psa): learnt \(rate)/s")
        }
        // The same work without learning, for contrast: the simulator's limit does bind.
        let blind = try await offboardTwoClients(psa, adaptive: false)
        print("pacing \(psa): learning \(learnt.refused) answered 429, \(String(describing: learnt.pacing)); without learning \(blind.refused) answered 429")
        #expect(blind.pacing == nil)
        #expect(blind.refused >= learnt.refused * 2 && blind.refused > learnt.refused + 3, "\(psa): \(blind.refused) answered 429 without learning, \(learnt.refused) learning")
    }
}
