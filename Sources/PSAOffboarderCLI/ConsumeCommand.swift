import ArgumentParser
import OffboardingService

struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Run the service: consume company-status-changed events until SIGTERM or SIGINT, then drain in-flight work and exit 0.",
        discussion: """
            Joins the consumer group on the events and retry topics, offboards each client whose \
            event meets the criteria, publishes every result, and keeps pending approvals on the \
            approvals topic. When http.listen is set it also serves the HTTP API, the PSA webhooks, \
            /health/live, /health/ready and /metrics; with schedule.cron, one replica at a time \
            sweeps the PSA for offboarded clients. Stops within shutdown.grace.

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
