import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// An accepted write is not proof: on every PSA a write the simulator answers as applied but drops
/// is found by reading the client back, written once more, and, when it stays active, reported
/// (`NotConfirmedInactive`) and handed to the retry topic.
@Suite(.timeLimit(.minutes(2)))
struct ConfirmationAcrossPSAsTests {
    func withClient(_ psa: PSAKind, _ body: (any SimulatedTenant, Offboarder, [Int]) async throws -> Void) async throws {
        try await PSAUnderTest.serving(psa) { tenant, client in
            let ids = await tenant.addClient(id: 830_001, name: "Confirm Client", offboarded: true, active: 20, inactive: 0)
            try await body(tenant, Offboarder(psa: client, logger: .test()), ids)
        }
    }

    let request = OffboardingRequest(eventID: "confirm", trigger: .api, client: .id("830001"), options: .init(offboardedStatuses: ["Inactive", "Offboarded"]))

    @Test(arguments: PSAKind.allCases)
    func aWriteLostOnceIsWrittenAgainAndConfirmed(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, ids in
            await tenant.loseWrites(ofConfiguration: ids[3], times: 1)
            let outcome = await offboarder.runDetailed(request)
            let result = outcome.result
            #expect(result.success && result.statistics.configsDeactivated == 20 && result.statistics.configsConfirmed == 20, "\(result.statistics)")
            #expect(!result.warnings.contains { $0.code == .notConfirmedInactive })
            #expect(outcome.retriable.isEmpty)
            #expect(await tenant.deactivationWrites(forClient: 830_001) == 21, "the lost write was sent again, once")
            for id in ids { #expect(await tenant.isConfigurationActive(id) == false) }
        }
    }

    @Test(arguments: PSAKind.allCases)
    func aWriteLostTwiceIsReportedFailedAndRetriedLater(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, ids in
            let lost = String(ids[3])
            await tenant.loseWrites(ofConfiguration: ids[3], times: 2)
            let outcome = await offboarder.runDetailed(request)
            let result = outcome.result
            #expect(!result.success)
            #expect(result.statistics.configsDeactivated == 19 && result.statistics.errors == 1 && result.statistics.configsConfirmed == 19, "\(result.statistics)")
            #expect(result.configs.first { $0.configID == lost }?.action == .failed)
            #expect(result.errors.map(\.configID) == [lost] && result.errors.first?.code == .configUpdateFailed)
            let warning = try #require(result.warnings.first { $0.code == .notConfirmedInactive })
            #expect(warning.message.contains(lost), "\(warning.message)")
            #expect(outcome.retriable.map(\.id) == [lost])
            #expect(await tenant.isConfigurationActive(ids[3]) == true)
            // The retry topic's attempt finds it still active, writes it, and confirms it.
            let retried = await offboarder.retry(outcome.retriable, for: request, attempt: 2)
            #expect(retried.result.success && retried.result.statistics.configsConfirmed == 1, "\(retried.result.statistics)")
            #expect(await tenant.isConfigurationActive(ids[3]) == false)
        }
    }
}
