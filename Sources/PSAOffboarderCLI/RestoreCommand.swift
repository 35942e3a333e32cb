import ArgumentParser
import Foundation
import OffboardingService

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Undo an offboarding: put every configuration it deactivated back to its previous PSA state, unless changed since.",
        discussion: """
            Reads the offboarding's results (its first run, retries and approval) from the results \
            topic, restores each configuration it deactivated to the state recorded in the result, \
            skips any that was edited in the PSA since (ChangedSinceOffboarding), prints the result \
            (trigger "restore"; a table at a terminal, JSON otherwise) and publishes it to the \
            results topic. Restoring twice changes \
            nothing the second time. Exits 0 when the result's success is true; 1 when not, or \
            when the offboarding is unknown, was a dry run or awaits approval; 2 on bad usage or \
            configuration.

            Example:
              psa-offboarder restore --config config.yaml --event-id 5f0c2b1e-7d1a-4c55-9a0e-2b7f1b3c9d10 --reason "Client came back"
            """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String
    @Option(name: .customLong("event-id"), help: "The event id of the offboarding to undo, as its result shows it.")
    var eventID: String
    @Flag(name: .customLong("dry-run"), help: "List what would be restored; change nothing.")
    var dryRun = false
    @Option(name: .long, help: "Why the offboarding is undone; kept in the result and the notes.")
    var reason: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !eventID.isEmpty, eventID.utf8.count <= 256 else { throw ValidationError("--event-id must be 1 to 256 bytes") }
    }

    func run() async throws {
        let configuration = try OffboarderConfiguration.load(file: config)
        let logger = CLILogging.bootstrap(defaultLevel: .warning)
        let progress = output.showsProgress ? ProgressLine(verb: dryRun ? "checked" : "written") : nil
        let run = try await ManualCommands.restore(
            eventID: eventID, dryRun: dryRun, reason: reason, configuration: configuration, logger: logger, progress: progress?.observe)
        await progress?.finish()
        // Printed whatever happened to publishing: the PSA has been changed, and this is what changed.
        try output.print(run.result)
        if let failure = run.publishFailure {
            FileHandle.standardError.write(Data("psa-offboarder: \(failure)\n".utf8))
            throw ExitCode(1)
        }
        if !run.result.success { throw ExitCode(1) }
    }
}
