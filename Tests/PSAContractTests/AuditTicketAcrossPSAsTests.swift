import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// `audit.ticket` on every PSA: an offboarding that changed something leaves exactly one ticket
/// on the client's company, in the configured board, queue or ticket type, naming what it did;
/// a retry or a lost answer finds that ticket instead of opening a second; a PSA that refuses the
/// ticket leaves a `TicketNotCreated` warning and the offboarding stands.
@Suite(.timeLimit(.minutes(2)))
struct AuditTicketAcrossPSAsTests {
    static let client = 840_001

    func withClient(
        _ psa: PSAKind, in place: Int? = nil, _ body: (any SimulatedTenant, Offboarder, [Int]) async throws -> Void
    ) async throws {
        try await PSAUnderTest.serving(psa, adjust: { SimulatedPSAs.openingAuditTickets($0, in: place) }) { tenant, client in
            let ids = await tenant.addClient(id: Self.client, name: "Audit & Sons", offboarded: true, active: 4, inactive: 1)
            try await body(tenant, Offboarder(psa: client, logger: .test()), ids)
        }
    }

    func request(_ eventID: String = "audit-1", dryRun: Bool = false) -> OffboardingRequest {
        OffboardingRequest(
            eventID: eventID, trigger: .api, client: .id(String(Self.client)),
            options: .init(dryRun: dryRun, reason: "Contract ended 2026-11-30", offboardedStatuses: ["Inactive", "Offboarded"]))
    }

    @Test(arguments: PSAKind.allCases)
    func anOffboardingOpensOneTicketOnTheClientNamingWhatItDid(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, _ in
            let result = await offboarder.run(request())
            #expect(result.success && result.statistics.configsDeactivated == 4, "\(result.statistics) \(result.warnings)")
            let tickets = await tenant.createdTickets()
            #expect(tickets.count == 1)
            let ticket = try #require(tickets.first)
            #expect(result.auditTicket?.id == String(ticket.id))
            #expect(ticket.companyID == Self.client && ticket.placedIn == SimulatedPSAs.auditPlace(psa))
            #expect(ticket.title.contains("Offboarded: Audit & Sons (840001), 4 configurations set inactive"), "\(ticket.title)")
            #expect(ticket.text.contains("Reason: Contract ended 2026-11-30") && ticket.text.contains("Event: audit-1"), "\(ticket.text)")
            for config in result.configs {
                #expect(ticket.text.contains("- \(config.configName) [\(config.configID)]: \(config.action.rawValue)"), "\(ticket.text)")
            }
        }
    }

    @Test(arguments: PSAKind.allCases)
    func aRetryFindsTheTicketOfItsFirstAttemptRatherThanOpeningASecond(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, ids in
            await tenant.loseWrites(ofConfiguration: ids[1], times: 2)
            let first = await offboarder.runDetailed(request())
            #expect(first.retriable.map(\.id) == [String(ids[1])] && first.result.statistics.configsDeactivated == 3)
            let opened = try #require(first.result.auditTicket?.id)
            let retried = await offboarder.retry(first.retriable, for: request(), attempt: 2)
            #expect(retried.result.statistics.configsDeactivated == 1 && retried.result.auditTicket?.id == opened, "\(retried.result.warnings)")
            #expect(await tenant.createdTickets().count == 1)
        }
    }

    @Test(arguments: PSAKind.allCases)
    func aCreateWhoseAnswerIsLostIsFoundNotSentAgain(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, _ in
            // The ticket is created, but the answer is a 502: a blind repeat would open a second.
            // (`ickets?` is the create's path on every PSA, not Autotask's `Tickets/query` lookup.)
            await tenant.inject(SimulatorFault(method: "POST", pathContains: "ickets?", status: 502, retryAfterSeconds: nil, times: 1, afterApplying: true))
            let result = await offboarder.run(request())
            let tickets = await tenant.createdTickets()
            #expect(tickets.count == 1)
            #expect(result.auditTicket?.id == tickets.first.map { String($0.id) }, "\(result.warnings)")
            #expect(!result.warnings.contains { $0.code == .ticketNotCreated })
        }
    }

    /// The create goes through the adapter's transport, paced with every other call: a 429 (which
    /// the PSA answers before doing anything) is waited out and sent again, once.
    @Test(arguments: PSAKind.allCases)
    func aCreateAnswered429IsPacedAndSentAgain(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, _ in
            await tenant.inject(SimulatorFault(method: "POST", pathContains: "ickets?", status: 429, retryAfterSeconds: 1, times: 1))
            let result = await offboarder.run(request())
            #expect(await tenant.createdTickets().count == 1)
            #expect(result.auditTicket != nil && !result.warnings.contains { $0.code == .ticketNotCreated }, "\(result.warnings)")
        }
    }

    @Test(arguments: PSAKind.allCases)
    func aRefusedTicketIsAWarningAndTheOffboardingStands(psa: PSAKind) async throws {
        // No such board, queue or ticket type: the simulator refuses as the PSA does.
        try await withClient(psa, in: 999) { tenant, offboarder, ids in
            let result = await offboarder.run(request())
            #expect(result.success && result.statistics.configsDeactivated == 4 && result.auditTicket == nil)
            let warning = try #require(result.warnings.first { $0.code == .ticketNotCreated })
            #expect(warning.message.contains("999"), "the PSA's own refusal is kept: \(warning.message)")
            #expect(await tenant.createdTickets().isEmpty)
            for id in ids.prefix(4) { #expect(await tenant.isConfigurationActive(id) == false) }
        }
    }

    /// A restore that puts configurations back is an audit fact of its own: one more ticket,
    /// naming the offboarding it undoes and who asked.
    @Test(arguments: PSAKind.allCases)
    func aRestoreOpensATicketOfItsOwn(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, _ in
            let offboarded = await offboarder.run(request())
            let plan = try RestorePlan.make(eventID: "audit-1", from: [offboarded])
            let restored = await offboarder.restore(.init(eventID: "audit-restore", plan: plan, reason: "Client came back", requestedBy: "jane@msp.example")).result
            #expect(restored.statistics.configsRestored == 4, "\(restored.warnings)")
            let tickets = await tenant.createdTickets()
            #expect(tickets.count == 2)
            let ticket = try #require(tickets.last)
            #expect(restored.auditTicket?.id == String(ticket.id) && offboarded.auditTicket?.id != restored.auditTicket?.id)
            #expect(ticket.title.contains("Restored: Audit & Sons (840001), 4 configurations put back"), "\(ticket.title)")
            #expect(ticket.text.contains("Undoes: audit-1") && ticket.text.contains("Requested by: jane@msp.example"), "\(ticket.text)")
        }
    }

    @Test(arguments: PSAKind.allCases)
    func aRunThatChangesNothingOpensNoTicket(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, _ in
            let preview = await offboarder.run(request("audit-dry", dryRun: true))
            #expect(preview.success && preview.auditTicket == nil)
            _ = await offboarder.run(request("audit-1"))
            let again = await offboarder.run(request("audit-2"))
            #expect(again.statistics.configsDeactivated == 0 && again.auditTicket == nil)
            #expect(await tenant.createdTickets().count == 1)
        }
    }

    @Test(arguments: PSAKind.allCases)
    func theServicesOwnAuditTicketIsNotReportedAsAnOpenAlert(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, ids in
            await tenant.loseWrites(ofConfiguration: ids[1], times: 2)
            let first = await offboarder.runDetailed(request())
            #expect(first.result.auditTicket != nil)
            let retried = await offboarder.retry(first.retriable, for: request(), attempt: 2)
            #expect(!retried.result.warnings.contains { $0.code == .alertsStillOpen }, "\(retried.result.warnings)")
        }
    }

    /// The reviewer's subset: configurations kept at approval are left as they are, skipped with
    /// `kept_by_reviewer`, and named in the result's warning and the audit ticket with the approver.
    @Test(arguments: PSAKind.allCases)
    func configurationsKeptByTheReviewerAreLeftAndNamed(psa: PSAKind) async throws {
        try await withClient(psa) { tenant, offboarder, ids in
            var asked = request("audit-approval")
            asked.options.requireApproval = true
            let outcome = await offboarder.runDetailed(asked)
            let pending = try #require(outcome.pendingApproval)
            let before = await tenant.createdTickets()
            #expect(pending.configs.count == 4 && before.isEmpty)
            let kept = String(ids[2])
            let decision = ApprovalDecision(approvalID: pending.approvalID, decision: .approve, approver: "Jane Reviewer", keep: [kept])
            let result = await offboarder.execute(pending, decision: decision).result
            #expect(result.success && result.statistics.configsDeactivated == 3, "\(result.statistics) \(result.warnings)")
            let config = try #require(result.configs.first { $0.configID == kept })
            #expect(config.action == .skipped && config.skipReason == .keptByReviewer && config.status == .active)
            #expect(await tenant.isConfigurationActive(ids[2]) == true)
            let warning = try #require(result.warnings.first { $0.code == .keptByReviewer })
            #expect(warning.configIDs == [kept] && warning.message.contains("Jane Reviewer"))
            let tickets = await tenant.createdTickets()
            let ticket = try #require(tickets.first)
            #expect(ticket.text.contains("Approved by: Jane Reviewer") && ticket.text.contains("[\(kept)]: skipped (kept_by_reviewer)"), "\(ticket.text)")
        }
    }
}
