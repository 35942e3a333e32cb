import Foundation
import Hummingbird
import Mustache
import OffboardingCore

/// What each console page shows, as the templates' contexts, and the HTML response around it.
enum ConsolePages {
    /// The whole page: `template` rendered with `context`, inside the layout.
    static func html(
        _ status: HTTPResponse.Status, title: String, psa: PSAKind, csrf: String?, template: String, _ context: [String: Any],
        headers: HTTPFields = [:]
    ) -> Response {
        let body = ConsoleTemplates.library.render(context, withTemplate: template) ?? ""
        let layout: [String: Any] = ["title": title, "psa": psa.rawValue, "signedIn": csrf != nil, "csrf": csrf ?? "", "body": body]
        let page = ConsoleTemplates.library.render(layout, withTemplate: "layout") ?? ""
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        fields.append(contentsOf: securityHeaders)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
    }

    /// No script may run and no other origin may frame, fetch into or receive a form from the page.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .init("Referrer-Policy")!: "no-referrer",
        .cacheControl: "no-store",
    ]

    /// The dashboard, or one approval's page. `pending` is newest first and already filtered;
    /// `total` is how many wait in all.
    static func dashboard(
        pending: [ApprovalRecord], total: Int, filter: String, decisions: (String) -> ApprovalDecision?, results: [OffboardingResult],
        latest: (String) -> OffboardingResult?, notice: String?, error: String?, csrf: String
    ) -> [String: Any] {
        let shown = pending.prefix(maxApprovalsShown)
        let approvals: [[String: Any]] = shown.map { approval in
            // The pending result lists the configurations with their type and status; the
            // approval itself keeps ids and names only.
            let listed = latest(approval.eventID).flatMap { $0.approval?.id == approval.approvalID ? $0.configs : nil }
            let configs: [[String: Any]] =
                listed?.filter { $0.action == .pendingApproval }.map { config in
                    ["id": config.configID, "name": config.configName, "type": config.configType ?? "", "status": config.psaStatus ?? config.status.rawValue]
                } ?? approval.configs.map { ["id": $0.configID, "name": $0.configName, "type": "", "status": ""] }
            var entry: [String: Any] = [
                "approvalID": approval.approvalID, "approvalPath": pathComponent(approval.approvalID), "clientID": approval.clientID,
                "clientName": approval.clientName ?? approval.clientID, "cause": describe(approval.cause), "trigger": approval.trigger.rawValue,
                "reason": approval.reason ?? "", "requestedAt": approval.requestedAt, "expiresAt": approval.expiresAt, "eventID": approval.eventID,
                "configs": configs,
            ]
            if let decision = decisions(approval.approvalID) {
                // Decided here or on another replica: the run is under way, and no second decision is offered.
                let kept = Set(decision.keep ?? [])
                entry["decided"] = [
                    "verdict": decision.decision == .approve ? "Approved" : "Rejected", "approver": decision.approver,
                    "decidedAt": decision.decidedAt ?? "", "comment": decision.comment ?? "",
                    "running": decision.decision == .approve ? "the offboarding is running; its result replaces this approval" : "its result replaces this approval",
                    "kept": approval.configs.filter { kept.contains($0.configID) }.map { ["id": $0.configID, "name": $0.configName] },
                ] as [String: Any]
                entry["configs"] = configs.map { config in
                    config.merging(["kept": kept.contains(config["id"] as? String ?? "")]) { _, new in new }
                }
            }
            return entry
        }
        let rows: [[String: Any]] = results.map { result in
            summary(result).merging(["warnings": result.warnings.map(\.code.rawValue).joined(separator: ", ")]) { _, new in new }
        }
        var context: [String: Any] = [
            "pending": approvals, "pendingCount": total, "matchCount": pending.count, "filter": filter, "filtered": !filter.isEmpty,
            "results": rows, "hasResults": !rows.isEmpty, "csrf": csrf,
        ]
        if pending.count > shown.count { context["more"] = pending.count - shown.count }
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        return context
    }

    /// How many approvals one page lists; the filter finds the others.
    static let maxApprovalsShown = 50

    /// Newest first, those whose client name or id holds `filter` (any case).
    static func arrange(_ pending: [ApprovalRecord], filter: String) -> [ApprovalRecord] {
        let needle = filter.trimmingCharacters(in: .whitespaces)
        return pending.filter { approval in
            needle.isEmpty || approval.clientID.localizedCaseInsensitiveContains(needle)
                || (approval.clientName?.localizedCaseInsensitiveContains(needle) ?? false)
        }.sorted { ($0.requestedAt, $0.approvalID) > ($1.requestedAt, $1.approvalID) }
    }

    static func result(_ result: OffboardingResult) -> [String: Any] {
        var context = summary(result)
        context["kind"] = result.trigger == .restore ? "Restore" : "Offboarding"
        context["psa"] = result.psa.rawValue
        context["reason"] = result.reason ?? ""
        context["warnings"] = result.warnings.map { ["code": $0.code.rawValue, "message": $0.message] }
        context["errorList"] = result.errors.map { error -> [String: Any] in
            var entry: [String: Any] = ["code": error.code.rawValue, "message": error.message]
            if let id = error.configID { entry["configID"] = id }
            return entry
        }
        if let approval = result.approval {
            var entry: [String: Any] = ["state": approval.state.rawValue]
            if let approver = approval.approver { entry["approver"] = approver }
            if let comment = approval.comment, !comment.isEmpty { entry["comment"] = comment }
            context["approval"] = entry
        }
        context["configs"] = result.configs.map { config -> [String: Any] in
            [
                "id": config.configID, "name": config.configName, "type": config.configType ?? "",
                "previous": config.psaPrevious?.status?.name ?? config.previousStatus.rawValue, "status": config.psaStatus ?? config.status.rawValue,
                "action": config.action.rawValue + (config.skipReason.map { " (\($0.rawValue))" } ?? ""),
            ]
        }
        return context
    }

    private static func summary(_ result: OffboardingResult) -> [String: Any] {
        let statistics = result.statistics
        return [
            "eventID": result.eventID, "eventPath": pathComponent(result.eventID), "clientID": result.clientID,
            "clientName": result.clientName ?? result.clientID, "trigger": result.trigger.rawValue, "timestamp": result.timestamp,
            "outcome": outcome(result), "outcomeClass": result.success ? "" : "failed", "found": statistics.configsFound,
            "changed": statistics.configsRestored ?? statistics.configsDeactivated, "skipped": statistics.configsSkipped, "errors": statistics.errors,
        ]
    }

    static func outcome(_ result: OffboardingResult) -> String {
        if result.approval?.state == .pending { return "awaiting approval" }
        if !result.success { return "failed" }
        if result.dryRun { return "dry run" }
        switch result.approval?.state {
        case .rejected?: return "rejected"
        case .expired?: return "approval expired"
        default: return "succeeded"
        }
    }

    static func describe(_ cause: ApprovalCause) -> String {
        switch cause {
        case .requested: "approval required by the request or the configuration"
        case .maxConfigs: "more configurations than scope.max_configs"
        }
    }

    /// An id in a URL path: ids are the callers' text and may hold `/`, `?` or `#`.
    static func pathComponent(_ id: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return id.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
