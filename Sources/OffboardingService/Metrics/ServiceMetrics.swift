import Metrics
import OffboardingCore
import Prometheus
import Synchronization

/// The process's metrics in Prometheus form, served at `GET /metrics`. The code that counts uses
/// swift-metrics' API; this points it at one Prometheus registry, once per process (swift-metrics
/// takes one bootstrap), whichever runtime starts first.
public enum ServiceMetrics {
    public static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)

    public static func bootstrap() {
        bootstrapped.withLock { done in
            guard !done else { return }
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            done = true
        }
    }

    /// The registry in Prometheus' text format, with the pending approvals this replica holds:
    /// read at the scrape from its own approval store, since a process-wide gauge would be the
    /// last writer's among several pipelines in one process (as in the tests).
    public static func exposition(pendingApprovals: Int?) -> [UInt8] {
        var text = registry.emitToBuffer()
        if let pendingApprovals {
            text += Array(
                ("# HELP psa_offboarder_pending_approvals Approvals waiting for a decision, as this replica read the approvals topic.\n"
                    + "# TYPE psa_offboarder_pending_approvals gauge\npsa_offboarder_pending_approvals \(pendingApprovals)\n").utf8)
        }
        return text
    }

    /// A result put on the results topic: the offboarding (or restore) by trigger and outcome, and
    /// its configurations by action.
    static func published(_ result: OffboardingResult) {
        Counter(
            label: "psa_offboarder_offboardings_total",
            dimensions: [("trigger", result.trigger.rawValue), ("success", String(result.success)), ("dry_run", String(result.dryRun))]
        ).increment()
        for (action, configs) in Dictionary(grouping: result.configs, by: \.action) {
            Counter(label: "psa_offboarder_configurations_total", dimensions: [("action", action.rawValue)]).increment(by: configs.count)
        }
    }
}
