import OffboardingCore

/// A result as a person reads it: what happened to the client in a few lines, then every
/// configuration, then the warnings and errors in full.
enum ResultTable {
    static func render(_ result: OffboardingResult) -> String {
        let statistics = result.statistics
        var lines: [String] = []
        let client = result.clientName.map { "\(TerminalText.clean($0, width: 60)) (\(TerminalText.clean(result.clientID)))" } ?? TerminalText.clean(result.clientID)
        let verdict = result.success ? "succeeded" : "FAILED"
        let kind = result.trigger == .restore ? "Restore" : "Offboarding"
        lines.append("\(kind) of \(client) on \(result.psa.rawValue) \(verdict)\(result.dryRun ? " (dry run: nothing changed)" : "")")
        lines.append("event \(result.eventID) · trigger \(result.trigger.rawValue)\(result.restores.map { " · undoes \($0)" } ?? "")")
        var counts = ["found \(statistics.configsFound)"]
        if let restored = statistics.configsRestored {
            counts.append("restored \(restored)")
        } else {
            counts.append("deactivated \(statistics.configsDeactivated)")
        }
        counts.append("skipped \(statistics.configsSkipped)")
        if let confirmed = statistics.configsConfirmed { counts.append("confirmed \(confirmed)") }
        counts.append("errors \(statistics.errors)")
        lines.append(counts.joined(separator: " · "))
        if let matched = result.matched, !matched.isEmpty { lines.append("matched: \(matched.joined(separator: ", "))") }
        if let approval = result.approval {
            lines.append("approval \(approval.id): \(approval.state.rawValue)\(approval.expiresAt.map { ", expires \($0)" } ?? "")")
        }
        if !result.configs.isEmpty {
            lines.append("")
            let rows = result.configs.map { config in
                [
                    TerminalText.clean(config.configID, width: 24), TerminalText.clean(config.configName, width: 40),
                    TerminalText.clean(config.configType ?? "", width: 24), TerminalText.clean(previousStatus(config), width: 24),
                    config.action.rawValue + (config.skipReason.map { " (\($0.rawValue))" } ?? ""),
                ]
            }
            lines.append(TerminalText.table(header: ["ID", "NAME", "TYPE", "PREVIOUS STATUS", "ACTION"], rows: rows))
        }
        for warning in result.warnings { lines.append("warning \(warning.code.rawValue): \(TerminalText.clean(warning.message))") }
        for error in result.errors {
            lines.append("error \(error.code.rawValue)\(error.configID.map { " (config \(TerminalText.clean($0)))" } ?? ""): \(TerminalText.clean(error.message))")
        }
        return lines.joined(separator: "\n")
    }

    /// The PSA's own name for the status the configuration had, where the result kept it.
    private static func previousStatus(_ config: OffboardingResult.Config) -> String {
        if let name = config.psaPrevious?.status?.name { return name }
        if config.status == config.previousStatus, let current = config.psaStatus { return current }
        return config.previousStatus.rawValue
    }
}
