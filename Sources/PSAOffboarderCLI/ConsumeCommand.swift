import ArgumentParser
import OffboardingService

struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Consume company-status-changed events until SIGTERM or SIGINT, then drain in-flight work and exit 0.",
        discussion: """
            Example:
              CW_PUBLIC_KEY=... CW_PRIVATE_KEY=... CW_CLIENT_ID=... psa-offboarder consume --config config.yaml
            """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    func run() async throws {
        let configuration = try OffboarderConfiguration.load(file: config)
        let logger = CLILogging.bootstrap(defaultLevel: .info)
        let runtime = try OffboarderRuntime(configuration: configuration, logger: logger)
        try await runtime.run()
    }
}
