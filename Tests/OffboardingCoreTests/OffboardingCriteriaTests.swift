import Foundation
import OffboardingCore
import Testing

/// How the criteria decide, apart from any PSA: each criterion, `match`, and when a status alone
/// may filter an event.
@Suite struct OffboardingCriteriaTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let day: TimeInterval = 86_400

    func contract(endedDaysAgo days: Double?, inEffect: Bool = false) -> PSAContract {
        PSAContract(id: "c", name: "c", companyID: "1", endDate: days.map { now.addingTimeInterval(-$0 * day) }, inEffect: inEffect)
    }

    @Test func contractsEndOnlyWhenNoneIsInEffectAndTheLastEndedLongEnoughAgo() {
        let after = Duration.seconds(30 * 86_400)
        #expect(OffboardingCriteria.contractsEnded([contract(endedDaysAgo: 40), contract(endedDaysAgo: 90)], after: after, now: now))
        #expect(!OffboardingCriteria.contractsEnded([contract(endedDaysAgo: 40), contract(endedDaysAgo: 20)], after: after, now: now), "the last one ended 20 days ago")
        #expect(!OffboardingCriteria.contractsEnded([contract(endedDaysAgo: 90), contract(endedDaysAgo: -10, inEffect: true)], after: after, now: now))
        #expect(!OffboardingCriteria.contractsEnded([], after: after, now: now), "no contract: nothing ended")
        #expect(!OffboardingCriteria.contractsEnded([contract(endedDaysAgo: 90), contract(endedDaysAgo: nil)], after: after, now: now), "an end without a date")
        #expect(OffboardingCriteria.contractsEnded([contract(endedDaysAgo: 30)], after: after, now: now), "exactly the period")
    }

    @Test func matchAnyNeedsOneAndMatchAllNeedsEveryConfiguredCriterion() {
        let company = PSACompany(id: "1", name: "A", status: "Active", types: ["Churned"])
        var criteria = OffboardingCriteria(statuses: ["Offboarded"], companyTypes: [" churned "], contractsEndedAfter: .zero)
        let matched = criteria.matched(company, contracts: [contract(endedDaysAgo: 1)], now: now)
        #expect(matched == [.companyTypes, .contractsEnded])
        #expect(criteria.isMet(by: matched))
        criteria.match = .all
        #expect(!criteria.isMet(by: matched), "the status does not hold")
        #expect(criteria.isMet(by: [.status, .companyTypes, .contractsEnded]))
        #expect(!OffboardingCriteria(statuses: []).isMet(by: []), "no criterion configured: nothing is offboarded")
    }

    @Test func aStatusFlaggedInactiveCountsWhateverItsName() {
        let criteria = OffboardingCriteria(statuses: ["Offboarded"])
        #expect(criteria.matched(PSACompany(id: "1", name: "A", status: "Gone Away", statusInactiveFlag: true), contracts: nil, now: now) == [.status])
        #expect(criteria.matched(PSACompany(id: "1", name: "A", status: "Gone Away"), contracts: nil, now: now).isEmpty)
    }

    @Test func onlyARequiredStatusMayFilterAnEvent() {
        #expect(OffboardingCriteria(statuses: ["Offboarded"]).statusIsRequired)
        #expect(!OffboardingCriteria(statuses: ["Offboarded"], companyTypes: ["Churned"]).statusIsRequired, "any: the type may hold whatever the status")
        #expect(OffboardingCriteria(statuses: ["Offboarded"], companyTypes: ["Churned"], match: .all).statusIsRequired)
        #expect(!OffboardingCriteria(statuses: [], companyTypes: ["Churned"], match: .all).statusIsRequired, "no status criterion")
    }
}
