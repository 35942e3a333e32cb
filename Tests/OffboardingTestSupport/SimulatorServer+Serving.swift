import PSASimulators

extension SimulatorServer {
    /// Serves `simulator` on a free loopback port for the duration of `body`, and stops it after,
    /// whether `body` returns or throws.
    public static func serving<Simulator: SimulatedPSA>(
        _ simulator: Simulator, _ body: (SimulatorServer) async throws -> Void
    ) async throws {
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
