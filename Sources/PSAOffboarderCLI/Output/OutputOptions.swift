import ArgumentParser
import Foundation
import OffboardingCore
import OffboardingService

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// `--output`: a table for a person at a terminal, JSON for everything else (pipes, files, CI),
/// so that scripts that read stdout keep getting JSON without asking for it.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "table or json; by default a table when stdout is a terminal, JSON otherwise.")
    var output: OutputFormat?

    var format: OutputFormat { output ?? (isatty(STDOUT_FILENO) == 1 ? .table : .json) }
    /// Progress goes to stderr only when a person watches it there.
    var showsProgress: Bool { isatty(STDERR_FILENO) == 1 }
}

extension OutputOptions {
    func print(_ result: OffboardingResult) throws {
        switch format {
        case .json: Swift.print(String(decoding: try ResultEncoding.encode(result, pretty: true), as: UTF8.self))
        case .table: Swift.print(ResultTable.render(result))
        }
    }

    func print(_ report: Sweeper.Report) throws {
        switch format {
        case .json:
            let summary: [String: Any] = [
                "companies_checked": report.companiesChecked, "events": report.eventIDs, "failures": report.failures, "psa_requests": report.requests,
                "seconds": (report.duration.seconds * 1000).rounded() / 1000,
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            Swift.print(String(decoding: data, as: UTF8.self))
        case .table:
            var lines = [
                "Sweep checked \(report.companiesChecked) offboarded companies: \(report.eventIDs.count) with active configurations, "
                    + "\(report.failures.count) could not be checked; \(report.requests) PSA requests in \(String(format: "%.1f", report.duration.seconds)) s"
            ]
            lines += report.eventIDs.map { "event \($0) queued" }
            lines += report.failures.map { "not checked: \(TerminalText.clean($0))" }
            Swift.print(lines.joined(separator: "\n"))
        }
    }

    func print(_ report: ManualCommands.NotifyTestReport) throws {
        switch format {
        case .json:
            let channels: [[String: Any]] = report.channels.map {
                ["name": $0.name, "kind": $0.kind, "delivered": $0.delivered, "answer": $0.answer, "attempts": $0.attempts]
            }
            let data = try JSONSerialization.data(withJSONObject: ["channels": channels], options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            Swift.print(String(decoding: data, as: UTF8.self))
        case .table:
            Swift.print(
                report.channels.map { channel in
                    "\(channel.delivered ? "delivered" : "NOT delivered") \(channel.kind) \(TerminalText.clean(channel.name)): "
                        + "\(TerminalText.clean(channel.answer))\(channel.attempts > 1 ? " (\(channel.attempts) attempts)" : "")"
                }.joined(separator: "\n"))
        }
    }
}
