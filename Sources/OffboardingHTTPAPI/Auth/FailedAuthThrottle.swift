import Foundation
import Metrics
import OffboardingCore
import Synchronization

/// Failed sign-ins and failed bearer tokens, per client address: after `limit` failures within
/// `window`, an address is answered 429 with `Retry-After` until its oldest failure leaves the
/// window, so that guessing tokens online costs the guesser time. Addresses are kept within a
/// byte budget (the oldest dropped first), since they come from outside.
final class FailedAuthThrottle: Sendable {
    struct Configuration: Sendable {
        var limit = 10
        var window: Duration = .seconds(60)
        /// The memory the failures may take.
        var bytes = 1 << 20
    }

    let route: String
    private let configuration: Configuration
    private let failures: Mutex<RecentEntries<[ContinuousClock.Instant]>>
    private let now: @Sendable () -> ContinuousClock.Instant

    init(route: String, configuration: Configuration = .init(), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.route = route
        self.configuration = configuration
        self.now = now
        failures = Mutex(RecentEntries(budget: configuration.bytes))
    }

    /// How long the address must wait before it may try again; nil when it may try now.
    func retryAfter(_ address: String) -> Duration? {
        let now = self.now()
        let wait = failures.withLock { failures -> Duration? in
            let recent = (failures[address] ?? []).filter { now - $0 < configuration.window }
            guard recent.count >= configuration.limit, let oldest = recent.first else { return nil }
            return configuration.window - (now - oldest)
        }
        if wait != nil { Counter(label: "psa_offboarder_auth_throttled_total", dimensions: [("route", route)]).increment() }
        return wait
    }

    /// Counts a failed attempt from the address.
    func failed(_ address: String) {
        Counter(label: "psa_offboarder_auth_failures_total", dimensions: [("route", route)]).increment()
        let now = self.now()
        failures.withLock { failures in
            var recent = (failures[address] ?? []).filter { now - $0 < configuration.window }
            recent.append(now)
            // More than the limit is never needed to decide.
            recent = Array(recent.suffix(configuration.limit))
            failures.set(address, recent, size: recent.count * MemoryLayout<ContinuousClock.Instant>.size)
        }
    }

    /// The `Retry-After` header's value: whole seconds, rounded up.
    static func seconds(_ wait: Duration) -> String {
        String(max(1, Int((wait / .seconds(1)).rounded(.up))))
    }
}
