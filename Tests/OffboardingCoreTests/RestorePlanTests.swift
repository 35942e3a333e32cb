import Foundation
import OffboardingCore
import OffboardingTestSupport
import Testing

/// Which configurations a restore puts back, and which it must leave, decided from the results alone
/// and from the PSA's state against what the offboarding recorded.
@Suite struct RestorePlanTests {
    typealias Previous = OffboardingResult.PSAPrevious

    static func result(
        _ configs: [(String, OffboardingResult.Action, Previous?)], trigger: OffboardingTrigger = .event, dryRun: Bool = false, attempt: Int? = nil,
        approval: OffboardingResult.Approval? = nil
    ) -> OffboardingResult {
        var result = OffboardingResult(
            success: true, eventID: "e", trigger: trigger, psa: .connectwise, clientID: "7", clientName: "Seven", timestamp: "2026-01-22T10:30:00Z",
            dryRun: dryRun, reason: "Contract ended")
        result.attempt = attempt
        result.approval = approval
        result.configs = configs.map { id, action, previous in
            var config = OffboardingResult.Config(configID: id, configName: "c\(id)", status: .inactive, previousStatus: .active, action: action)
            config.psaPrevious = previous
            return config
        }
        return result
    }

    static let loaned = Previous(active: true, status: .init(id: "5", name: "Loaned"), lastModified: "2026-01-22T10:30:01Z")

    @Test func thePlanHoldsWhatTheFirstRunAndItsFollowUpsDeactivatedAndNothingElse() throws {
        let results = [
            Self.result([("1", .deactivated, Self.loaned), ("2", .failed, nil), ("3", .skipped, nil), ("4", .failed, nil)]),
            Self.result([("2", .deactivated, Previous(active: true, status: .init(id: "1"))), ("4", .failed, nil)], attempt: 2),
        ]
        let plan = try RestorePlan.make(eventID: "e", from: results)
        #expect(plan.configs.map(\.configID) == ["1", "2"])
        #expect(plan.configs.map(\.previous) == [Self.loaned, Previous(active: true, status: .init(id: "1"))])
        #expect(plan.clientID == "7" && plan.psa == .connectwise)
    }

    @Test func aFollowUpWithoutAPreviousStateKeepsTheEarlierOne() throws {
        let plan = try RestorePlan.make(
            eventID: "e", from: [Self.result([("1", .deactivated, Self.loaned)]), Self.result([("1", .deactivated, nil)], attempt: 2)])
        #expect(plan.configs.first?.previous == Self.loaned)
    }

    @Test(arguments: [
        ([RestorePlanTests.result([("1", .wouldDeactivate, nil)], dryRun: true)], "was a dry run"),
        ([RestorePlanTests.result([("1", .pendingApproval, nil)], approval: .init(id: "approval-e", state: .pending, expiresAt: nil))], "awaiting approval"),
        ([RestorePlanTests.result([("1", .skipped, nil)])], "deactivated no configuration"),
        ([RestorePlanTests.result([("1", .restored, nil)], trigger: .restore)], "is a restore"),
    ])
    func whatHasNothingToUndoIsRefused(results: [OffboardingResult], message: String) {
        #expect {
            try RestorePlan.make(eventID: "e", from: results)
        } throws: { error in
            (error as? RestoreRefusal).map { $0.kind == .notRestorable && $0.message.contains(message) } ?? false
        }
    }

    @Test func anUnknownOffboardingIsUnknown() {
        #expect(throws: RestoreRefusal(.unknown, "no result of an offboarding with event id e is on the results topic")) {
            try RestorePlan.make(eventID: "e", from: [])
        }
    }

    @Test func aRestoreOverMemoryPutsBackThePreviousStatusAndLeavesWhatMovedOn() async {
        let configs = [
            PSAItem(id: "1", name: "a", isActive: false, statusID: "3", lastModified: "t1"),
            PSAItem(id: "2", name: "b", isActive: false, statusID: "3", lastModified: "t2-edited"),
            PSAItem(id: "3", name: "c", isActive: true, statusID: "1", lastModified: "t9"),
            PSAItem(id: "4", name: "d", isActive: true, statusID: "7", lastModified: "t9"),
            PSAItem(id: "6", name: "f", isActive: false, statusID: "3", lastModified: "t6"),
        ]
        let psa = OffboarderTests.MemoryPSA(company: .init(id: "7", name: "Seven", status: "Active"), configs: configs)
        let previous = { (stamp: String) in Previous(active: true, status: .init(id: "1"), lastModified: stamp) }
        let plan = RestorePlan(
            eventID: "e", psa: .connectwise, clientID: "7", clientName: "Seven", reason: nil,
            configs: [
                .init(configID: "1", configName: "a", previous: previous("t1")), .init(configID: "2", configName: "b", previous: previous("t2")),
                .init(configID: "3", configName: "c", previous: previous("t3")), .init(configID: "4", configName: "d", previous: previous("t4")),
                .init(configID: "5", configName: "e", previous: previous("t5")), .init(configID: "6", configName: "f", previous: nil),
            ])
        let outcome = await Offboarder(psa: psa, logger: .test()).restore(.init(eventID: "r", plan: plan))
        let byID = Dictionary(uniqueKeysWithValues: outcome.result.configs.map { ($0.configID, $0) })
        #expect(byID["1"]?.action == .restored)
        #expect(byID["2"]?.skipReason == .changedSinceOffboarding, "its stamp moved")
        #expect(byID["3"]?.skipReason == .alreadyRestored)
        #expect(byID["4"]?.skipReason == .changedSinceOffboarding, "active again, but in another status")
        #expect(byID["5"]?.skipReason == .notFound)
        #expect(byID["6"]?.skipReason == .previousStateUnknown)
        #expect(psa.written.withLock { $0 } == ["1"], "only what was as the offboarding left it")
        #expect(outcome.result.statistics == .init(configsFound: 6, configsDeactivated: 0, configsSkipped: 5, errors: 0, configsConfirmed: 1, configsRestored: 1))
        #expect(Set(outcome.result.warnings.map(\.code)) == [.changedSinceOffboarding, .configNotFound, .previousStateUnknown])
        #expect(outcome.retriable.isEmpty, "a restore never goes to the retry topic")
    }

    /// A restore only puts configurations back to active. A result naming an active configuration
    /// with a "previous" state that is not active (a forged one, or a bug) would have it set
    /// inactive: it is skipped and reported, and nothing is written.
    @Test func aRestoreNeverMovesAConfigurationAwayFromActive() async {
        let configs = [
            PSAItem(id: "1", name: "live firewall", isActive: true, statusID: "1", lastModified: "t1"),
            PSAItem(id: "2", name: "archived switch", isActive: false, statusID: "3", lastModified: "t2"),
        ]
        let psa = OffboarderTests.MemoryPSA(company: .init(id: "7", name: "Seven", status: "Active"), configs: configs)
        let plan = RestorePlan(
            eventID: "e", psa: .connectwise, clientID: "7", clientName: "Seven", reason: nil,
            configs: [
                // Its stamp matches: as "the offboarding left it", were a previous inactive state believed.
                .init(configID: "1", configName: "live firewall", previous: Previous(active: false, status: .init(id: "3"), lastModified: "t1")),
                .init(configID: "2", configName: "archived switch", previous: Previous(active: false, status: .init(id: "3"), lastModified: "t0")),
            ])
        let outcome = await Offboarder(psa: psa, logger: .test()).restore(.init(eventID: "r", plan: plan))
        #expect(psa.written.withLock { $0 }.isEmpty, "nothing is written")
        #expect(outcome.result.configs.map(\.skipReason) == [.previousStateNotActive, .previousStateNotActive])
        #expect(outcome.result.configs.map(\.action) == [.skipped, .skipped])
        #expect(outcome.result.warnings.map(\.code) == [.previousStateNotActive])
        #expect(outcome.result.warnings.first?.configIDs == ["1", "2"])
        #expect(outcome.result.statistics.configsRestored == 0)
    }
}
