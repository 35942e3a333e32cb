import Foundation
import OffboardingCore
import Testing

/// The one admission decision, alone: every verdict a record can get, from the decoded record, the
/// policy and what the replica has read, with no Kafka and no PSA.
@Suite struct AdmissionTests {
    let admission = Admission(
        psa: .connectwise, defaults: OffboardingOptions(offboardedStatuses: ["Offboarded"]), criteria: OffboardingCriteria(statuses: ["Offboarded"]))

    func event(status: String = "Offboarded", psa: PSAKind = .connectwise, trigger: OffboardingTrigger = .event, restores: String? = nil) -> CompanyStatusChangedEvent {
        CompanyStatusChangedEvent(
            id: "e-1", source: "/test", psa: psa, companyID: "42", status: status, trigger: trigger, restores: restores)
    }

    func inbound(_ content: InboundRecord.Content, origin: InboundRecord.Origin = .events, attempt: Int = 1, signed: Bool = false) -> InboundRecord {
        InboundRecord(origin: origin, content: content, attempt: attempt, signed: signed)
    }

    func approval(state: ApprovalState = .pending, psa: PSAKind = .connectwise, expiresIn seconds: TimeInterval = 3600) -> ApprovalRecord {
        ApprovalRecord(
            approvalID: "approval-e-1", state: state, eventID: "e-1", trigger: .api, psa: psa, clientID: "42", clientName: "Acme", reason: nil,
            offboardedStatuses: ["Offboarded"], cause: .requested, requestedAt: Timestamp.string(Date()),
            expiresAt: Timestamp.string(Date().addingTimeInterval(seconds)), configs: [.init(configID: "7", configName: "fw")])
    }

    @Test func anOffboardedEventRunsAndOneOfAnotherStatusIsFiltered() {
        guard case .run(let order) = admission.verdict(for: inbound(.event(event())), ledger: .init()) else {
            Issue.record("an offboarded status runs")
            return
        }
        #expect(order.request.eventID == "e-1" && order.attempt == 1 && order.journalAttempt == 1)
        #expect(!order.filteredWhenNotOffboarded)
        guard case .filtered = admission.verdict(for: inbound(.event(event(status: "Active"))), ledger: .init()) else {
            Issue.record("another status is filtered")
            return
        }
        // A request (API, schedule) always gets a result: the run asks the PSA.
        guard case .run = admission.verdict(for: inbound(.event(event(status: "Active", trigger: .api))), ledger: .init()) else {
            Issue.record("a request is never filtered by the status it carries")
            return
        }
    }

    @Test func unknownInactiveStatusesLetEveryStatusThroughButMarkTheRunFilteredWhenNotOffboarded() {
        var blind = admission
        blind.inactiveStatusNames = nil
        guard case .run(let order) = blind.verdict(for: inbound(.event(event(status: "Active"))), ledger: .init()) else {
            Issue.record("without the PSA's inactive statuses an event's status cannot decide")
            return
        }
        #expect(order.filteredWhenNotOffboarded)
        // The PSA's own inactive statuses count as offboarded.
        var flagged = admission
        flagged.inactiveStatusNames = ["Closed"]
        guard case .run = flagged.verdict(for: inbound(.event(event(status: "Closed"))), ledger: .init()) else {
            Issue.record("a status the PSA flags inactive runs")
            return
        }
    }

    @Test func anEventWithAResultIsADuplicateAndOneForAnotherPSAIsDeadLettered() {
        let ledger = Admission.Ledger(hasResult: { source, id in source == "/test" && id == "e-1" })
        guard case .duplicate = admission.verdict(for: inbound(.event(event())), ledger: ledger) else {
            Issue.record("an event with a result is not run again")
            return
        }
        guard case .deadLetter(.psaMismatch, _) = admission.verdict(for: inbound(.event(event(psa: .autotask))), ledger: .init()) else {
            Issue.record("an event for another PSA is dead-lettered")
            return
        }
        guard case .deadLetter(.invalidEvent, let reason) = admission.verdict(for: inbound(.invalid(.invalidEvent, "bad")), ledger: .init()) else {
            Issue.record("an undecodable record is dead-lettered")
            return
        }
        #expect(reason == "bad")
    }

    @Test func theServicesOwnTopicsAndRestoresNeedItsSignature() {
        let retry = RetryRequest(
            eventID: "e-1", trigger: .event, psa: .connectwise, clientID: "42", clientName: nil, reason: nil, offboardedStatuses: ["Offboarded"], attempt: 3,
            configs: [.init(configID: "7", configName: "fw")])
        guard case .deadLetter(.unauthenticatedRecord, _) = admission.verdict(for: inbound(.retryRequest(retry), origin: .retry), ledger: .init()) else {
            Issue.record("an unsigned retry request is refused")
            return
        }
        guard case .run(let order) = admission.verdict(for: inbound(.retryRequest(retry), origin: .retry, signed: true), ledger: .init()) else {
            Issue.record("a signed retry request runs")
            return
        }
        #expect(order.attempt == 3 && order.journalAttempt == 3)
        guard case .deadLetter(.unauthenticatedRecord, _) = admission.verdict(for: inbound(.bookkeeping, origin: .approvals), ledger: .init()) else {
            Issue.record("unsigned bookkeeping on the approvals topic is refused")
            return
        }
        guard case .nothingToDo = admission.verdict(for: inbound(.bookkeeping, origin: .approvals, signed: true), ledger: .init()) else {
            Issue.record("signed bookkeeping is the store's")
            return
        }
        let restore = event(trigger: .restore, restores: "e-0")
        guard case .deadLetter(.unauthenticatedRecord, _) = admission.verdict(for: inbound(.event(restore)), ledger: .init()) else {
            Issue.record("an unsigned restore on the events topic is refused")
            return
        }
        guard case .run(let order) = admission.verdict(for: inbound(.event(restore), signed: true), ledger: .init()), case .restore = order.work else {
            Issue.record("a signed restore runs as a restore")
            return
        }
    }

    @Test func aDecisionIsJudgedAgainstTheApprovalAsRead() {
        let approve = ApprovalDecision(approvalID: "approval-e-1", decision: .approve, approver: "amy")
        let decision = inbound(.decision(approve), origin: .approvals, signed: true)
        guard case .deadLetter(.invalidEvent, _) = admission.verdict(for: decision, ledger: .init()) else {
            Issue.record("a decision about an unknown approval is dead-lettered")
            return
        }
        let pending = approval()
        guard case .run(let order) = admission.verdict(for: decision, ledger: .init(approval: { _ in pending })), case .execute = order.work else {
            Issue.record("an approval carries out the approval")
            return
        }
        #expect(order.finalApproval?.state == .approved && order.finalApproval?.decision?.approver == "amy")
        let expired = approval(expiresIn: -1)
        guard case .run(let late) = admission.verdict(for: decision, ledger: .init(approval: { _ in expired })), case .decline(_, .expired, nil) = late.work else {
            Issue.record("a decision after the expiry expires the approval")
            return
        }
        let reject = inbound(.decision(ApprovalDecision(approvalID: "approval-e-1", decision: .reject, approver: "bo")), origin: .approvals, signed: true)
        guard case .run(let rejected) = admission.verdict(for: reject, ledger: .init(approval: { _ in pending })), case .decline(_, .rejected, _) = rejected.work else {
            Issue.record("a rejection declines")
            return
        }
        let decided = approval(state: .approved)
        guard case .alreadyDecided(.approved) = admission.verdict(for: decision, ledger: .init(approval: { _ in decided })) else {
            Issue.record("a second decision is ignored")
            return
        }
        let foreign = approval(psa: .halopsa)
        guard case .deadLetter(.psaMismatch, _) = admission.verdict(for: decision, ledger: .init(approval: { _ in foreign })) else {
            Issue.record("an approval of another PSA is not carried out here")
            return
        }
    }
}
