import Synchronization

/// Lets one path at a time decide an approval: a decision from the topic and the expiry both
/// check "still pending?" and write the final state inside, so that an approval ends once.
final class DecisionGate: Sendable {
    private let held = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    func withDecision<T: Sendable>(on approvalID: String, _ body: () async -> T) async -> T {
        await enter(approvalID)
        defer { leave(approvalID) }
        return await body()
    }

    /// Runs `body` only when nobody is deciding this approval now (the decision in progress settles
    /// it); false when it did not run. The expiry uses it, so that one decision waiting out a PSA
    /// outage does not hold up the expiry of every other approval.
    func withDecisionIfFree(on approvalID: String, _ body: () async -> Void) async -> Bool {
        let free = held.withLock { held -> Bool in
            guard held[approvalID] == nil else { return false }
            held[approvalID] = []
            return true
        }
        guard free else { return false }
        defer { leave(approvalID) }
        await body()
        return true
    }

    private func enter(_ id: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let free = held.withLock { held -> Bool in
                guard held[id] != nil else {
                    held[id] = []
                    return true
                }
                held[id]!.append(continuation)
                return false
            }
            if free { continuation.resume() }
        }
    }

    private func leave(_ id: String) {
        let next = held.withLock { held -> CheckedContinuation<Void, Never>? in
            guard var queue = held[id], !queue.isEmpty else {
                held[id] = nil
                return nil
            }
            let next = queue.removeFirst()
            held[id] = queue
            return next
        }
        next?.resume()
    }
}
