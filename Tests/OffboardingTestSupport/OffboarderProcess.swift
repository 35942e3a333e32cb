import Foundation
import Synchronization

/// A `psa-offboarder` child process with its stdout and stderr captured.
public final class OffboarderProcess: Sendable {
    private let child: SpawnedChild
    private let shared = Shared()

    /// State written by the pipe handlers and the exit watcher.
    private final class Shared: Sendable {
        /// Bytes as read: a chunk can end inside a character, so the text is decoded when read.
        let output = Mutex<(stdout: Data, stderr: Data)>((Data(), Data()))
        let exit = Mutex<(status: Int32?, waiter: CheckedContinuation<Int32, Never>?)>((nil, nil))
        /// Woken on every chunk of stderr and at exit.
        let watchers = Mutex<[AsyncStream<Void>.Continuation]>([])
    }

    /// The built `psa-offboarder` next to the running test bundle.
    public static var executable: URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("psa-offboarder")
    }

    /// - Parameter terminal: run it with stdin, stdout and stderr on a pseudo-terminal (util-linux
    ///   `script`, which copies the terminal's output, both streams in one, to `stdout`), as a
    ///   person at a shell would.
    /// - Parameter executable: another program to run the same way (a test's own driver script).
    public init(arguments: [String], environment: [String: String] = [:], terminal: Bool = false, executable: String? = nil) throws {
        var env = ProcessInfo.processInfo.environment
        // A crashing child writes its reason to stderr and exits: Swift's backtracer, attached to a
        // child the test then kills, was seen blocking on the dead process for good, and the test with it.
        env["SWIFT_BACKTRACE"] = "enable=no"
        env.merge(environment) { _, new in new }
        if let executable {
            child = try SpawnedChild(executable: executable, arguments: arguments, environment: env)
        } else if terminal {
            let command = ([Self.executable.path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }.joined(separator: " ")
            env["TERM"] = "xterm"
            child = try SpawnedChild(executable: "/usr/bin/script", arguments: ["--quiet", "--return", "--command", command, "/dev/null"], environment: env)
        } else {
            child = try SpawnedChild(executable: Self.executable.path, arguments: arguments, environment: env)
        }
        let shared = self.shared
        child.watch(
            stdout: { data in
                shared.output.withLock { $0.stdout += data }
                for watcher in shared.watchers.withLock({ $0 }) { watcher.yield() }
            },
            stderr: { data in
                shared.output.withLock { $0.stderr += data }
                for watcher in shared.watchers.withLock({ $0 }) { watcher.yield() }
            },
            exit: { status in
                let waiter = shared.exit.withLock { state -> CheckedContinuation<Int32, Never>? in
                    state.status = status
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume(returning: status)
                for watcher in shared.watchers.withLock({ $0 }) { watcher.yield() }
            })
    }

    private var isRunning: Bool { shared.exit.withLock { $0.status == nil } }

    public var stdout: String { String(decoding: shared.output.withLock { $0.stdout }, as: UTF8.self) }
    public var stderr: String { String(decoding: shared.output.withLock { $0.stderr }, as: UTF8.self) }
    public var pid: Int32 { child.pid }

    public func signal(_ signal: Int32) {
        kill(child.pid, signal)
    }

    /// The exit status, once the process has exited.
    /// A process still running after `timeout` is killed (SIGKILL), so that a hung child fails
    /// its test instead of hanging the whole suite.
    public func waitForExit(timeout: Duration = .seconds(120)) async -> Int32 {
        let watchdog = Task { [self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled, isRunning { kill(child.pid, SIGKILL) }
        }
        defer { watchdog.cancel() }
        return await withCheckedContinuation { continuation in
            let status = shared.exit.withLock { state -> Int32? in
                if let status = state.status { return status }
                state.waiter = continuation
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Waits until the captured stderr satisfies `condition`, re-checking whenever output grows.
    public func waitForStderr(timeout: Duration, _ what: String, _ condition: @escaping @Sendable (String) -> Bool) async throws {
        try await waitForOutput(timeout: timeout, what, \.stderr, condition)
    }

    /// Waits until the captured stdout satisfies `condition`, re-checking whenever output grows.
    public func waitForStdout(timeout: Duration, _ what: String, _ condition: @escaping @Sendable (String) -> Bool) async throws {
        try await waitForOutput(timeout: timeout, what, \.stdout, condition)
    }

    private func waitForOutput(
        timeout: Duration, _ what: String, _ stream: any KeyPath<OffboarderProcess, String> & Sendable, _ condition: @escaping @Sendable (String) -> Bool
    ) async throws {
        let (ticks, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        shared.watchers.withLock { $0.append(continuation) }
        continuation.yield()
        let matched = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { [self] in
                for await _ in ticks where condition(self[keyPath: stream]) { return true }
                return false
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        continuation.finish()
        if !matched {
            throw ProcessTimeout(description: "timed out waiting for \(what); output so far:\n\(stdout.suffix(2000))\n\(stderr.suffix(4000))")
        }
    }

    deinit {
        if isRunning { kill(child.pid, SIGTERM) }
    }
}

public struct ProcessTimeout: Error, CustomStringConvertible {
    public var description: String
}
