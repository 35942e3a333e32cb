import Foundation
import Glibc
import Synchronization

/// A child process started with `posix_spawn`, its stdout and stderr on pipes. Foundation's
/// `Process.run()` on Linux reads past `/proc/self/fd` entries and crashes now and then
/// (swift-corelibs-foundation#5472, after Swift 6.3), which was seen killing a test run.
struct SpawnedChild: Sendable {
    let pid: pid_t
    let stdout: FileHandle
    let stderr: FileHandle

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    /// Pipes are made and marked close-on-exec, and the child spawned, one child at a time: a
    /// child that inherited another's pipe would hold it open, and that one's reader would wait
    /// for an end of file that never comes. (dup2 onto 1 and 2 clears the flag there.)
    private static let spawning = Mutex(())

    init(executable: String, arguments: [String], environment: [String: String]) throws {
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        (pid, stdout, stderr) = try Self.spawning.withLock { _ in try Self.spawn(executable, argv, envp) }
    }

    private static func spawn(
        _ executable: String, _ argv: [UnsafeMutablePointer<CChar>?], _ envp: [UnsafeMutablePointer<CChar>?]
    ) throws -> (pid_t, FileHandle, FileHandle) {
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // Nothing else of the test process (the mock brokers' sockets above all) may live on in the child.
        guard Self.closeFrom(&actions, 3) == 0 else { throw SpawnError(description: "posix_spawn_file_actions_addclosefrom_np failed") }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(outPipe[1])
        close(errPipe[1])
        guard result == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            throw SpawnError(description: "posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        return (pid, FileHandle(fileDescriptor: outPipe[0], closeOnDealloc: true), FileHandle(fileDescriptor: errPipe[0], closeOnDealloc: true))
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which the Glibc module
    /// does not export.
    private static let closeFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("glibc 2.34 or later is needed: posix_spawn_file_actions_addclosefrom_np is missing")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Reads stdout and stderr on threads of their own until their ends, and waits for the child
    /// on a third (`read` and `waitpid` block). `exit` gets how it ended, its exit code or the
    /// number of the signal that ended it as `Process.terminationStatus` does, once both pipes are
    /// drained. Blocking reads rather than `FileHandle.readabilityHandler`: its dispatch sources,
    /// cancelled as their pipes closed, are the likely cause of a crash in libdispatch's event
    /// loop that ended a full-suite run.
    func watch(
        stdout onStdout: @escaping @Sendable (Data) -> Void, stderr onStderr: @escaping @Sendable (Data) -> Void,
        exit: @escaping @Sendable (Int32) -> Void
    ) {
        let drained = DispatchSemaphore(value: 0)
        for (handle, body, name) in [(stdout, onStdout, "stdout"), (stderr, onStderr, "stderr")] {
            let thread = Thread {
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                    if count > 0 {
                        body(Data(buffer[0..<count]))
                    } else if count == 0 || errno != EINTR {
                        break
                    }
                }
                drained.signal()
            }
            thread.name = "spawned-child-\(pid)-\(name)"
            thread.start()
        }
        let pid = self.pid
        let thread = Thread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            drained.wait()
            drained.wait()
            let signalled = status & 0x7f
            exit(signalled == 0 ? (status >> 8) & 0xff : signalled)
        }
        thread.name = "spawned-child-\(pid)"
        thread.start()
    }
}
