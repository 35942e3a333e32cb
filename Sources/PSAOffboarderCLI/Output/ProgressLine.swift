import Dispatch
import Foundation
import OffboardingCore
import Synchronization

/// One line on stderr, redrawn as a run goes: configurations written of those to write, the
/// rate, and the pace the PSA allows as the adapter learnt it. Redrawn at most five times a
/// second, and written from a queue of its own so that no task of the run waits on the terminal.
final class ProgressLine: Sendable {
    private struct State {
        var calls = 0
        var total: Int?
        var written = 0
        var writingSince: ContinuousClock.Instant?
        var lastDrawn: ContinuousClock.Instant?
        var pacing: PSAPacing?
        var shown = false
    }

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "psa-offboarder.progress")
    private let verb: String

    /// - Parameter verb: what the writes do, e.g. "deactivated".
    init(verb: String) {
        self.verb = verb
    }

    func observe(_ progress: RunProgress, pacing: PSAPacing?) {
        let now = ContinuousClock.now
        let line: String? = state.withLock { state in
            state.pacing = pacing
            switch progress {
            case .call: state.calls += 1
            case .writing(let total):
                state.total = (state.total ?? 0) + total
                state.writingSince = state.writingSince ?? now
            case .wrote(let count):
                state.calls += 1
                state.written += count
            }
            let finished = state.total.map { state.written >= $0 } ?? false
            if let last = state.lastDrawn, now - last < .milliseconds(200), !finished { return nil }
            state.lastDrawn = now
            state.shown = true
            return Self.describe(state, now: now, verb: verb)
        }
        guard let line else { return }
        queue.async { FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
    }

    /// Clears the line once the writes queued before are out, so that what follows starts clean.
    func finish() async {
        guard state.withLock({ $0.shown }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
                continuation.resume()
            }
        }
    }

    private static func describe(_ state: State, now: ContinuousClock.Instant, verb: String) -> String {
        var parts: [String]
        if let total = state.total {
            parts = ["\(state.written)/\(total) configurations \(verb)"]
            if let since = state.writingSince {
                let seconds = (now - since).seconds
                if seconds >= 0.5 { parts.append(String(format: "%.1f/s", Double(state.written) / seconds)) }
            }
        } else {
            parts = ["reading the PSA: \(state.calls) \(state.calls == 1 ? "call" : "calls")"]
        }
        if let rate = state.pacing?.rate {
            parts.append(String(format: "PSA pace %.1f requests/s", rate) + (state.pacing.map { $0.slowDowns > 0 ? ", \($0.slowDowns) slow-downs" : "" } ?? ""))
        }
        return parts.joined(separator: " · ")
    }
}
