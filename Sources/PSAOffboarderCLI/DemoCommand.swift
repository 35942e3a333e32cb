import ArgumentParser
import OffboardingSandbox
import OffboardingService

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the real pipeline against an in-process Kafka test cluster and a ConnectWise sandbox, print each result.",
        discussion: """
            Needs nothing but librdkafka: the cluster and the sandbox live in this process.

            Example:
              psa-offboarder demo
            """)

    func run() async throws {
        let logger = CLILogging.bootstrap(defaultLevel: .warning)
        _ = try await Demo.run(logger: logger) { print($0) }
    }
}
