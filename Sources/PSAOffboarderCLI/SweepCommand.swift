import ArgumentParser
import Foundation
import OffboardingService

struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Put an event on the events topic for every offboarded client that still has active configurations.",
        discussion: """
            Finds the clients whose PSA status is one of criteria.offboarded_statuses, lists their
            active configurations, and writes one company-status-changed event (trigger "schedule")
            for each client that has any. The consumers do the rest. Prints a JSON summary.
            `consume` runs the same sweep on schedule.cron, on one replica at a time.

            Example:
              psa-offboarder sweep --config config.yaml
            """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    func run() async throws {
        let configuration = try OffboarderConfiguration.load(file: config)
        let logger = CLILogging.bootstrap(defaultLevel: .warning)
        let report = try await OffboarderRuntime.sweepOnce(configuration: configuration, logger: logger)
        let summary: [String: Any] = [
            "companies_checked": report.companiesChecked, "events": report.eventIDs, "failures": report.failures,
        ]
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}
