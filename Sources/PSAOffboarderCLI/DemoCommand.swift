import ArgumentParser
import OffboardingSandbox
import OffboardingService

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the real pipeline against an in-process Kafka test cluster and sandboxes of ConnectWise, Autotask and HaloPSA; print each result.",
        discussion: """
            Needs nothing but librdkafka: the cluster and the three sandboxes (sample tenants \
            speaking each vendor's REST API) live in this process. One consumer pipeline per PSA \
            reads a handful of sample events: offboardings, a dry run, a filtered event, a stale \
            one, an unknown client.

            Example:
              psa-offboarder demo
            """)

    func run() async throws {
        let logger = CLILogging.bootstrap(defaultLevel: .warning)
        _ = try await Demo.run(logger: logger) { print($0) }
    }
}
