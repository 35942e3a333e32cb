/// A condition that did not come to hold in time.
public struct ConditionTimeout: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// Waits for a condition on an actor (a simulator) or on state other tasks write, looking again
/// every 50 ms; throws `ConditionTimeout` naming `what` after `timeout`.
public func waitUntil(timeout: Duration, _ what: String, _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else { throw ConditionTimeout(description: "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}
