import Crypto
import OffboardingCore

extension Notice {
    /// The notice a published record calls for, if any. Dry runs tell nobody; a result that waits
    /// for an approval is told by the approval's own record; a dead letter of a notice is not told
    /// again (it would loop).
    public static func from(_ source: NoticeSource, console: ConsoleLinks?) -> Notice? {
        switch source {
        case .approval(let approval): from(approval, console: console)
        case .result(let result): from(result, console: console)
        case .deadLetter(let deadLetter): from(deadLetter)
        }
    }

    /// The code of a notice's own dead letter; such dead letters make no notice.
    public static let notDeliveredCode = "NoticeNotDelivered"

    private static func from(_ approval: ApprovalRecord, console: ConsoleLinks?) -> Notice? {
        let configurations = approval.configs.map { Configuration(id: $0.configID, name: $0.configName) }
        var facts = [Fact("PSA", approval.psa.rawValue), Fact("Trigger", approval.trigger.rawValue)]
        if let reason = approval.reason, !reason.isEmpty { facts.append(Fact("Reason", reason)) }
        let client = label(name: approval.clientName, id: approval.clientID)
        let link = console.map { Link(title: "Open the approval", url: $0.approval(approval.approvalID)) }
        var notice = Notice(
            id: id("approval", approval.approvalID, approval.state.rawValue), kind: .approvalPending, psa: approval.psa, clientID: approval.clientID,
            clientName: approval.clientName, title: "", summary: "", facts: facts, configurations: configurations, link: link,
            occurredAt: approval.requestedAt, eventID: approval.eventID, approvalID: approval.approvalID)
        switch approval.state {
        case .pending:
            let cause =
                switch approval.cause {
                case .requested: "approval was requested"
                case .maxConfigs: "more configurations would change than scope.max_configs allows"
                }
            notice.title = "Approval needed: offboarding \(client)"
            notice.summary = "\(count(configurations.count)) would be set inactive; \(cause). It expires at \(approval.expiresAt) unless decided."
            notice.facts.append(Fact("Expires", approval.expiresAt))
        case .approved, .rejected:
            let decision = approval.decision
            let verdict = approval.state == .approved ? "approved" : "rejected"
            notice.kind = .approvalDecided
            notice.title = "Offboarding of \(client) \(verdict)"
            notice.summary = "\(decision?.approver ?? "An approver") \(verdict) the offboarding of \(count(configurations.count))."
            let kept = Set(decision?.keep ?? [])
            if approval.state == .approved, !kept.isEmpty {
                notice.summary = "\(decision?.approver ?? "An approver") approved the offboarding of \(count(configurations.count - kept.count)), keeping \(kept.count)."
                notice.configurations = approval.configs.map {
                    Configuration(id: $0.configID, name: $0.configName, action: kept.contains($0.configID) ? OffboardingResult.SkipReason.keptByReviewer.rawValue : nil)
                }
            }
            if let approver = decision?.approver { notice.facts.append(Fact("Approver", approver)) }
            if let comment = decision?.comment, !comment.isEmpty { notice.facts.append(Fact("Comment", comment)) }
            if let decidedAt = decision?.decidedAt {
                notice.occurredAt = decidedAt
                notice.facts.append(Fact("Decided", decidedAt))
            }
        case .expired:
            notice.kind = .approvalExpired
            notice.title = "Approval expired: offboarding \(client)"
            notice.summary = "Nobody decided in time; \(count(configurations.count)) stay as they were."
            notice.occurredAt = approval.expiresAt
        }
        return notice
    }

    private static func from(_ result: OffboardingResult, console: ConsoleLinks?) -> Notice? {
        guard !result.dryRun, result.approval?.state != .pending else { return nil }
        let client = label(name: result.clientName, id: result.clientID)
        let warnings = result.warnings.map { Warning(code: $0.code.rawValue, message: $0.message) }
        let stats = result.statistics
        var facts = [Fact("PSA", result.psa.rawValue), Fact("Trigger", result.trigger.rawValue)]
        if let reason = result.reason, !reason.isEmpty { facts.append(Fact("Reason", reason)) }
        if let approver = result.approval?.approver { facts.append(Fact("Approver", approver)) }
        let link = console.map { Link(title: "Open the result", url: $0.offboarding(result.eventID)) }
        var notice = Notice(
            id: "", kind: .offboardingFailed, psa: result.psa, clientID: result.clientID, clientName: result.clientName, title: "", summary: "",
            facts: facts, configurations: [], warnings: warnings, link: link, occurredAt: result.timestamp, eventID: result.eventID,
            approvalID: result.approval?.id)
        let isRestore = result.trigger == .restore
        if !result.success {
            notice.kind = .offboardingFailed
            notice.title = "\(isRestore ? "Restore" : "Offboarding") failed: \(client)"
            let errors = result.errors.map { "\($0.code.rawValue): \($0.message)" }
            notice.summary = errors.isEmpty ? "The run did not finish." : errors.prefix(3).joined(separator: "; ")
            notice.configurations = result.configs.filter { $0.action == .failed }.map(configuration)
            notice.facts.append(Fact("Errors", String(result.errors.count)))
        } else if isRestore {
            notice.kind = .restored
            notice.title = "Restored: \(client)"
            notice.summary = "\(count(stats.configsRestored ?? 0)) put back as they were before the offboarding."
            notice.configurations = result.configs.filter { $0.action == .restored || $0.action == .skipped }.map(configuration)
            if let undone = result.restores { notice.facts.append(Fact("Undoes", undone)) }
            if let who = result.requestedBy { notice.facts.append(Fact("Requested by", who)) }
        } else if !warnings.isEmpty {
            notice.kind = .offboardingWarnings
            notice.title = "Warnings from the offboarding of \(client)"
            notice.summary =
                "\(count(stats.configsDeactivated)) set inactive; " + Array(Set(warnings.map(\.code))).sorted().joined(separator: ", ")
                + " to look at."
            let named = Set(result.warnings.flatMap { $0.configIDs ?? [] })
            notice.configurations = result.configs.filter { named.contains($0.configID) }.map(configuration)
        } else {
            return nil
        }
        notice.id = id("result", result.eventID, String(result.attempt ?? 1), notice.kind.rawValue)
        return notice
    }

    private static func from(_ deadLetter: NoticeSource.DeadLetter) -> Notice? {
        guard deadLetter.code != notDeliveredCode else { return nil }
        var facts = [Fact("Code", deadLetter.code)]
        if let topic = deadLetter.sourceTopic { facts.append(Fact("From topic", topic)) }
        return Notice(
            id: id("dead-letter", deadLetter.position), kind: .deadLettered, psa: nil, clientID: deadLetter.key, clientName: nil,
            title: "Dead-lettered: \(deadLetter.code)\(deadLetter.key.map { " (key \($0))" } ?? "")", summary: deadLetter.reason, facts: facts,
            occurredAt: deadLetter.seenAt)
    }

    private static func configuration(_ config: OffboardingResult.Config) -> Configuration {
        Configuration(id: config.configID, name: config.configName, action: config.skipReason?.rawValue ?? config.action.rawValue)
    }

    private static func label(name: String?, id: String) -> String {
        guard let name, !name.isEmpty, name != id else { return id }
        return "\(name) (\(id))"
    }

    private static func count(_ n: Int) -> String { n == 1 ? "1 configuration" : "\(n) configurations" }

    /// `msg_` and 32 hex digits of SHA-256 over the fact's parts: the same fact, the same id.
    static func id(_ parts: String...) -> String {
        let digest = SHA256.hash(data: Array(parts.joined(separator: "\u{1F}").utf8))
        return "msg_" + digest.prefix(16).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
