import ArgumentParser
import Foundation
import OffboardingService

struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Put an event on the events topic for every offboarded client that still has active configurations.",
        discussion: """
            Finds the clients whose PSA status is one of criteria.offboarded_statuses, lists their \
            active configurations, and writes one company-status-changed event (trigger "schedule") \
            for each client that has any. The consumers do the rest. Prints a summary (a table \
            at a terminal, JSON otherwise); exits 1 when a client could not be checked. \
            `consume` runs the same sweep on schedule.cron, on one replica at a time.

            Example:
              psa-offboarder sweep --config config.yaml
            """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let configuration = try OffboarderConfiguration.load(file: config)
        let logger = CLILogging.bootstrap(defaultLevel: .warning)
        let report = try await ManualCommands.sweep(configuration: configuration, logger: logger)
        try output.print(report)
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}
