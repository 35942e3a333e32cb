import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// A simulator's HTTP server running in this process, on a port the OS chose unless one was given.
public final class SimulatorServer: Sendable {
    public let port: Int
    public let host: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    public var baseURL: String { "http://\(host):\(port)" }

    /// Starts `router` and returns once the server accepts connections.
    public static func start<Router: HTTPResponderBuilder>(
        router: Router, host: String = "127.0.0.1", port: Int = 0, logger: Logger, signals: [UnixSignal] = []
    ) async throws -> SimulatorServer where Router.Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "psa-simulator"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? port)
                portContinuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: signals, logger: logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            task.cancel()
            throw SimulatorError("the simulator did not start")
        }
        return SimulatorServer(port: bound, host: host, group: group, task: task)
    }

    private init(port: Int, host: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.host = host
        self.group = group
        self.task = task
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Serves until the task is cancelled or the process gets SIGTERM/SIGINT (used by `sandbox`).
    public func waitUntilStopped() async throws {
        try await task.value
    }
}

public struct SimulatorError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
