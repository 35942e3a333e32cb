import PSASimulators

extension SimulatorServer {
    /// Serves `simulator` on a free loopback port for the duration of `body`, and stops it after,
    /// whether `body` returns or throws.
    @discardableResult
    public static func serving<Simulator: SimulatedPSA, T>(
        _ simulator: Simulator, _ body: (SimulatorServer) async throws -> T
    ) async throws -> T {
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        let value: T
        do {
            value = try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        return value
    }
}
