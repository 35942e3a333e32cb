import ArgumentParser
import Foundation
import OffboardingService

struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify", abstract: "Check the notice channels (notify.channels).", subcommands: [NotifyTestCommand.self])
}

struct NotifyTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Send one sample notice to every configured channel and print what each answered.",
        discussion: """
            Sends a sample approval_pending notice (a made-up client, marked as a test) to each of \
            notify.channels at once, in the channel's own format, with its retries for at most 20 s. \
            Prints each channel's name, kind and last answer, never its URL or secret; exits 0 when \
            every channel took it, 1 when one did not, 2 on a configuration without channels.

            Example:
              psa-offboarder notify test --config config.yaml
            """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let configuration = try OffboarderConfiguration.load(file: config)
        let logger = CLILogging.bootstrap(defaultLevel: .warning)
        let report = try await ManualCommands.notifyTest(configuration: configuration, logger: logger)
        try output.print(report)
        if !report.allDelivered { throw ExitCode(1) }
    }
}
