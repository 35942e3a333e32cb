import OffboardingCore
import Testing

@testable import OffboardingNotify

/// Which published records make which notice, and what it says: dry runs and results waiting
/// for an approval tell nobody, a notice's own dead letter is not told again, and the same fact
/// always has the same id.
struct NoticeSourcesTests {
    static let console = ConsoleLinks(base: "https://offboarder.msp.example/console/")

    static func approval(_ state: ApprovalState) -> ApprovalRecord {
        var record = ApprovalRecord(
            approvalID: "apr-1", state: state, eventID: "evt-1", trigger: .event, psa: .connectwise, clientID: "12345", clientName: "Example Client",
            reason: "Contract ended", offboardedStatuses: ["Offboarded"], cause: .maxConfigs, requestedAt: "2026-12-07T10:00:00Z",
            expiresAt: "2026-12-10T10:00:00Z",
            configs: [RetryRequest.Item(configID: "101", configName: "FW-01"), RetryRequest.Item(configID: "102", configName: "SRV-02")])
        if state == .approved || state == .rejected {
            record.decision = ApprovalDecision(
                approvalID: "apr-1", decision: state == .approved ? .approve : .reject, approver: "dana@msp.example", comment: "ok",
                decidedAt: "2026-12-07T11:00:00Z")
        }
        return record
    }

    static func result(success: Bool = true, dryRun: Bool = false, trigger: OffboardingTrigger = .event, warnings: [OffboardingResult.Warning] = [])
        -> OffboardingResult
    {
        var result = OffboardingResult(
            success: success, eventID: "evt-2", trigger: trigger, psa: .autotask, clientID: "77", clientName: "Beta Ltd", timestamp: "2026-12-07T12:00:00Z",
            dryRun: dryRun, reason: "Left", statistics: .init(configsFound: 2, configsDeactivated: 2),
            configs: [
                .init(configID: "1", configName: "PC-1", status: .inactive, previousStatus: .active, action: .deactivated),
                .init(configID: "2", configName: "PC-2", status: .inactive, previousStatus: .active, action: .deactivated),
            ], warnings: warnings)
        if !success {
            result.errors = [.init(code: .psaConnectionError, message: "the PSA did not answer", timestamp: "2026-12-07T12:00:00Z")]
        }
        return result
    }

    @Test func aPendingApprovalNamesItsConfigurationsItsExpiryAndLinksToItsConsolePage() throws {
        let notice = try #require(Notice.from(.approval(Self.approval(.pending)), console: Self.console))
        #expect(notice.kind == .approvalPending)
        #expect(notice.title.contains("Example Client (12345)"))
        #expect(notice.summary.contains("2 configurations") && notice.summary.contains("scope.max_configs") && notice.summary.contains("2026-12-10T10:00:00Z"))
        #expect(notice.configurations.map(\.name) == ["FW-01", "SRV-02"])
        #expect(notice.link?.url == "https://offboarder.msp.example/console/approvals/apr-1")
        #expect(notice.approvalID == "apr-1" && notice.eventID == "evt-1")
    }

    @Test func decidedAndExpiredApprovalsTellTheirOwnKindWithTheApprover() throws {
        let approved = try #require(Notice.from(.approval(Self.approval(.approved)), console: Self.console))
        #expect(approved.kind == .approvalDecided)
        #expect(approved.facts.contains(Notice.Fact("Approver", "dana@msp.example")))
        #expect(approved.occurredAt == "2026-12-07T11:00:00Z")
        let rejected = try #require(Notice.from(.approval(Self.approval(.rejected)), console: Self.console))
        #expect(rejected.kind == .approvalDecided && rejected.title.contains("rejected"))
        let expired = try #require(Notice.from(.approval(Self.approval(.expired)), console: Self.console))
        #expect(expired.kind == .approvalExpired)
        // Each state of one approval is a fact of its own, with an id of its own.
        #expect(Set([approved.id, rejected.id, expired.id, Notice.from(.approval(Self.approval(.pending)), console: nil)!.id]).count == 4)
    }

    /// The reviewer's subset is in the decided notice: what is kept is named as kept.
    @Test func anApprovalThatKeepsSomeConfigurationsNamesThem() throws {
        var record = Self.approval(.approved)
        record.decision?.keep = ["102"]
        let notice = try #require(Notice.from(.approval(record), console: Self.console))
        #expect(notice.summary == "dana@msp.example approved the offboarding of 1 configuration, keeping 1.", "\(notice.summary)")
        #expect(notice.configurations == [.init(id: "101", name: "FW-01"), .init(id: "102", name: "SRV-02", action: "kept_by_reviewer")])
    }

    @Test func resultsTellFailuresWarningsAndRestoresAndNothingElse() throws {
        let failed = try #require(Notice.from(.result(Self.result(success: false)), console: Self.console))
        #expect(failed.kind == .offboardingFailed && failed.summary.contains("PSAConnectionError"))
        #expect(failed.link?.url == "https://offboarder.msp.example/console/offboardings/evt-2")

        let billing = OffboardingResult.Warning(
            code: .billingStillActive, message: "contract 9 still bills", psaRecord: .init(kind: "contract", id: "9"), configIDs: ["2"])
        let warned = try #require(Notice.from(.result(Self.result(warnings: [billing])), console: Self.console))
        #expect(warned.kind == .offboardingWarnings)
        #expect(warned.warnings == [Notice.Warning(code: "BillingStillActive", message: "contract 9 still bills")])
        #expect(warned.configurations.map(\.id) == ["2"], "the configurations the warning names")

        var restore = Self.result(trigger: .restore)
        restore.statistics.configsRestored = 2
        restore.restores = "evt-0"
        let restored = try #require(Notice.from(.result(restore), console: Self.console))
        #expect(restored.kind == .restored && restored.summary.contains("2 configurations"))

        #expect(Notice.from(.result(Self.result()), console: Self.console) == nil, "a clean offboarding tells nobody")
        #expect(Notice.from(.result(Self.result(success: false, dryRun: true)), console: Self.console) == nil, "a dry run tells nobody")
        var waiting = Self.result()
        waiting.approval = .init(id: "apr-9", state: .pending, expiresAt: nil)
        #expect(Notice.from(.result(waiting), console: Self.console) == nil, "the approval's own record tells it")
    }

    @Test func aDeadLetterIsToldUnlessItIsANoticesOwn() throws {
        let record = NoticeSource.DeadLetter(
            code: "InvalidEvent", reason: "data.company_id is missing", key: "12345", sourceTopic: "psa.company.status-changed",
            position: "psa.offboarding.dlq/0/7", seenAt: "2026-12-07T12:00:00Z")
        let notice = try #require(Notice.from(.deadLetter(record), console: Self.console))
        #expect(notice.kind == .deadLettered && notice.summary == "data.company_id is missing" && notice.clientID == "12345")
        var own = record
        own.code = Notice.notDeliveredCode
        #expect(Notice.from(.deadLetter(own), console: Self.console) == nil)
    }

    @Test func theSameFactHasTheSameIdAndAnotherAttemptAnother() throws {
        let first = try #require(Notice.from(.result(Self.result(success: false)), console: Self.console))
        let again = try #require(Notice.from(.result(Self.result(success: false)), console: nil))
        #expect(first.id == again.id)
        #expect(first.id.hasPrefix("msg_") && first.id.count == 36)
        var retried = Self.result(success: false)
        retried.attempt = 2
        #expect(Notice.from(.result(retried), console: nil)?.id != first.id)
    }

    @Test(arguments: ["../../admin", "a/b?c#d", "x y", "%2e%2e", ".."])
    func aConsoleLinkNeverLeavesTheConfiguredBase(id: String) {
        let link = Self.console.approval(id)
        let segment = link.dropFirst("https://offboarder.msp.example/console/approvals/".count)
        #expect(link.hasPrefix("https://offboarder.msp.example/console/approvals/"))
        #expect(!segment.contains("/") && !segment.contains("?") && !segment.contains("#") && !segment.contains(".") && !segment.contains(" "))
    }
}
