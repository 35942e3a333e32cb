import ArgumentParser
import Foundation
import OffboardingCore
import OffboardingSandbox
import OffboardingService
import PSASimulators

struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Serve a PSA simulator for trying psa-offboarder by hand, until SIGTERM or SIGINT.",
        discussion: """
            Prints the psa block of a configuration that points at it (sandbox credentials), then serves \
            the sample tenant, or the dataset given with --data (JSON in the simulator's format).

            Example:
              psa-offboarder sandbox --psa connectwise --port 8089
            """)

    @Option(name: .long, help: "Which PSA to simulate: connectwise, autotask or halopsa.")
    var psa: String
    @Option(name: .long, help: "The port on 127.0.0.1 (0 picks a free one).")
    var port: Int = 0
    @Option(name: .long, help: "A JSON dataset to serve instead of the sample tenant.")
    var data: String?

    func validate() throws {
        guard PSAKind(rawValue: psa) != nil else { throw ValidationError("--psa \(psa): must be connectwise, autotask or halopsa") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
    }

    func run() async throws {
        let logger = CLILogging.bootstrap(defaultLevel: .info)
        var dataset = PSASandbox.Dataset.sample
        if let data {
            guard let bytes = FileManager.default.contents(atPath: data) else { throw UsageError(message: "--data: cannot read \(data)") }
            dataset = .json(bytes)
        }
        let instance: PSASandbox.Instance
        do {
            instance = try PSASandbox.make(PSAKind(rawValue: psa)!, dataset: dataset)
        } catch {
            throw UsageError(message: "--data: \(data ?? "") is not a \(psa) dataset: \(error)")
        }
        let server = try await SimulatorServer.start(router: instance.tenant.makeRouter(), port: port, logger: logger, signals: [.sigterm, .sigint])
        print(instance.yaml(server.baseURL))
        fflush(nil)
        try await server.waitUntilStopped()
    }
}
