import ArgumentParser
import OffboardingCore
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

            At a terminal each result is shown as `run` shows one (a summary and a table of its \
            configurations); `--output json`, or a pipe, prints the result records themselves.

            Example:
              psa-offboarder demo
            """)

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let logger = CLILogging.bootstrap(defaultLevel: .warning)
        let render: (OffboardingResult) throws -> String
        switch output.format {
        case .table: render = { ResultTable.render($0) }
        case .json: render = { try Demo.json($0) }
        }
        _ = try await Demo.run(logger: logger, render: render) { print($0) }
    }
}
