import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// A PSA that gives no whole answer (a read that never answers, an answer that stalls mid-body, a
/// reset connection) on every PSA: the per-call timeout ends the attempt, `retry.budget` ends the
/// call, and the pipeline waits the outage out. A hang or a stall lasts until the simulator stops,
/// so only the product's own bounds can end these runs before the suite's time limit does.
@Suite(.timeLimit(.minutes(2)))
struct ConnectionFaultsAcrossPSAsTests {
    static let cases = PSAKind.allCases.flatMap { psa in ConnectionFault.allCases.map { (psa, $0) } }
    let clientID = 840_001

    func request(_ id: String) -> OffboardingRequest {
        OffboardingRequest(eventID: id, trigger: .api, client: .id(String(clientID)), options: .init(offboardedStatuses: ["Inactive", "Offboarded"]))
    }

    @Test(arguments: cases)
    func aListingWithoutAWholeAnswerIsAskedAgainAfterThePerCallTimeout(psa: PSAKind, fault: ConnectionFault) async throws {
        try await PSAUnderTest.serving(psa, adjust: { psa in
            var psa = psa
            psa.updateHTTP { $0.requestTimeout = .seconds(1) }
            return psa
        }) { tenant, client in
            let ids = await tenant.addClient(id: clientID, name: "Cut Client", offboarded: true, active: 5, inactive: 0)
            await tenant.cutListing(ofClient: clientID, fault, times: 1)
            let result = await Offboarder(psa: client, logger: .test()).run(request("cut-once"))
            #expect(result.success && result.statistics.configsDeactivated == 5, "\(result.errors)")
            #expect(await tenant.injectedFaultsServed().count == 1, "the listing met the fault once")
            for id in ids { #expect(await tenant.isConfigurationActive(id) == false) }
        }
    }

    @Test(arguments: cases)
    func aPSAThatNeverGivesAWholeAnswerFailsTheCallWithinItsBudget(psa: PSAKind, fault: ConnectionFault) async throws {
        // Twenty attempts allowed: only the budget can end the call after a few (two or three
        // timeouts of 2 s and their backoffs fit in 7 s). The timeout is loose enough that the
        // calls before the listing, on a loaded machine, never meet it.
        try await PSAUnderTest.serving(psa, adjust: { psa in
            var psa = psa
            psa.updateHTTP {
                $0.requestTimeout = .seconds(2)
                $0.budget = .seconds(7)
                $0.maxAttempts = 20
            }
            return psa
        }) { tenant, client in
            let ids = await tenant.addClient(id: clientID, name: "Cut Client", offboarded: true, active: 3, inactive: 0)
            await tenant.cutListing(ofClient: clientID, fault, times: nil)
            let outcome = await Offboarder(psa: client, logger: .test()).runDetailed(request("cut-always"))
            #expect(!outcome.result.success && outcome.result.errors.first?.code == .psaConnectionError, "\(outcome.result.errors)")
            // Nothing was changed, so it is an outage for the pipeline to wait out, not a failure.
            #expect(outcome.outage?.code == .psaConnectionError)
            let attempts = await tenant.injectedFaultsServed().count
            #expect(attempts >= 2 && attempts < 20, "\(attempts) attempts")
            for id in ids { #expect(await tenant.isConfigurationActive(id) == true) }
        }
    }

    @Test(arguments: ConnectionFault.allCases)
    func aPSAThatStopsAnsweringIsWaitedOutAndTheEventRunsWhenItAnswersAgain(fault: ConnectionFault) async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { configuration in
            configuration.outageBackoff = .milliseconds(100)
            configuration.maxOutageBackoff = .milliseconds(200)
            configuration.psa.updateHTTP {
                $0.requestTimeout = .seconds(1)
                $0.maxAttempts = 1
            }
        }
        let client = await harness.makeClient(active: 4)
        await harness.tenant.cutListing(ofClient: client.id, fault, times: nil)
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        try await harness.results.wait(timeout: .seconds(30), for: "the pipeline to report waiting on the PSA") { _ in
            if case .waitingOnPSA = harness.runtime.pipeline.health().state { return true }
            return false
        }
        // Waited out more than once, and no failure result meanwhile.
        try await waitUntil(timeout: .seconds(30), "a second attempt at the listing") { await harness.tenant.injectedFaultsServed().count >= 2 }
        try await harness.results.caughtUp()
        #expect(harness.results(for: event.id).isEmpty)
        await harness.tenant.clearFaults()
        let result = try await harness.result(for: event.id, timeout: .seconds(30)).result
        #expect(result.success && result.statistics.configsDeactivated == 4, "\(result.errors)")
        for id in client.configurations { #expect(await harness.tenant.isConfigurationActive(id) == false) }
        try await harness.stop()
    }
}
