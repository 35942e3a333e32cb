import Logging

/// The audit ticket: with `audit.ticket` set, an offboarding or restore that changed something
/// leaves one ticket on the client's company naming what it did. The ticket never decides the
/// run: a PSA that refuses it leaves a `TicketNotCreated` warning.
extension Offboarder {
    /// The longest title every PSA takes (ConnectWise's `summary` holds 100 characters).
    static let auditTitleLength = 100
    /// The longest text every PSA takes (Autotask's `description` holds 8,000 characters).
    static let auditTextLength = 8000

    func fileAuditTicket(for result: inout OffboardingResult, logger: Logger) async {
        let changed = result.trigger == .restore ? (result.statistics.configsRestored ?? 0) : result.statistics.configsDeactivated
        guard psa.opensAuditTickets, !result.dryRun, changed > 0 else { return }
        let ticket = Self.auditTicket(for: result)
        do {
            let receipt = try await psa.openAuditTicket(ticket)
            result.auditTicket = .init(id: receipt.id)
            logger.info("audit ticket", metadata: ["psa.ticket.id": "\(receipt.id)", "psa.ticket.opened": "\(receipt.opened)"])
        } catch {
            logger.warning("audit ticket not created", metadata: ["psa.error": "\(error)"])
            let status = error.httpStatus.map { " (HTTP \($0))" } ?? ""
            result.warnings.append(.init(code: .ticketNotCreated, message: "\(psa.kind) did not take the audit ticket\(status): \(error.message); the offboarding stands"))
        }
        progress(.call)
    }

    /// The ticket's title and text, from the result as it stands.
    static func auditTicket(for result: OffboardingResult) -> PSAAuditTicket {
        let client = result.clientName.map { "\($0) (\(result.clientID))" } ?? result.clientID
        let isRestore = result.trigger == .restore
        let stats = result.statistics
        let changed = isRestore ? (stats.configsRestored ?? 0) : stats.configsDeactivated
        let outcome =
            isRestore ? "Restored" : result.success ? "Offboarded" : "Offboarded with errors"
        let title = "\(outcome): \(client), \(changed) configuration\(changed == 1 ? "" : "s") \(isRestore ? "put back" : "set inactive")"
        var lines = [
            "psa-offboarder \(isRestore ? "restore" : "offboarding") of \(client)",
            "Event: \(result.eventID)" + (result.attempt.map { " (attempt \($0))" } ?? ""),
            "Trigger: \(result.trigger.rawValue)",
        ]
        if let reason = result.reason, !reason.isEmpty { lines.append("Reason: \(reason)") }
        if let undone = result.restores { lines.append("Undoes: \(undone)") }
        if let who = result.requestedBy { lines.append("Requested by: \(who)") }
        if let approval = result.approval, let approver = approval.approver {
            lines.append("Approved by: \(approver)" + (approval.comment.map { ": \($0)" } ?? ""))
        }
        lines.append("Found \(stats.configsFound), changed \(changed), skipped \(stats.configsSkipped), errors \(stats.errors)")
        lines.append("")
        lines.append("Configurations:")
        for config in result.configs {
            let what = config.skipReason.map { "\(config.action.rawValue) (\($0.rawValue))" } ?? config.action.rawValue
            lines.append("- \(config.configName) [\(config.configID)]: \(what)")
        }
        if !result.warnings.isEmpty {
            lines.append("")
            lines.append("Warnings:")
            for warning in result.warnings { lines.append("- \(warning.code.rawValue): \(warning.message)") }
        }
        if !result.errors.isEmpty {
            lines.append("")
            lines.append("Errors:")
            for error in result.errors { lines.append("- \(error.code.rawValue)" + (error.configID.map { " [\($0)]" } ?? "") + ": \(error.message)") }
        }
        return PSAAuditTicket(
            companyID: result.clientID, eventID: result.eventID, title: title.clipped(to: auditTitleLength),
            text: lines.joined(separator: "\n").clipped(to: auditTextLength))
    }
}
