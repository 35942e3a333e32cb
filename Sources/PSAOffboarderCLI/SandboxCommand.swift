import ArgumentParser
import Foundation
import OffboardingService
import PSASimulators

struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Serve a PSA simulator for trying psa-offboarder by hand, until SIGTERM or SIGINT.",
        discussion: """
            Prints the base URL and the sandbox credentials, then serves.

            Example:
              psa-offboarder sandbox --psa connectwise --port 8089
            """)

    enum PSA: String, ExpressibleByArgument, CaseIterable {
        case connectwise, autotask, halopsa
    }

    @Option(name: .long, help: "Which PSA to simulate: connectwise, autotask or halopsa.")
    var psa: PSA
    @Option(name: .long, help: "The port on 127.0.0.1 (0 picks a free one).")
    var port: Int = 0
    @Option(name: .long, help: "A JSON dataset to serve instead of the sample tenant.")
    var data: String?

    func run() async throws {
        let logger = CLILogging.bootstrap(defaultLevel: .info)
        guard psa == .connectwise else {
            throw UsageError(message: "--psa \(psa.rawValue): this version simulates connectwise only")
        }
        var dataset = ConnectWiseDataset.sample()
        if let data {
            guard let bytes = FileManager.default.contents(atPath: data) else {
                throw UsageError(message: "--data: cannot read \(data)")
            }
            do {
                dataset = try JSONDecoder().decode(ConnectWiseDataset.self, from: bytes)
            } catch {
                throw UsageError(message: "--data: \(data) is not a ConnectWise dataset: \(error)")
            }
        }
        let simulator = ConnectWiseSimulator(data: dataset)
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), port: port, logger: logger, signals: [.sigterm, .sigint])
        let credentials = simulator.credentials
        print("base_url: \(server.baseURL)\(ConnectWiseSimulator.apiPath)")
        print("connectwise: {company_id: \(credentials.companyID), public_key: \(credentials.publicKey), private_key: \(credentials.privateKey), client_id: \(credentials.clientID)}")
        fflush(nil)
        try await server.waitUntilStopped()
    }
}
