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

    /// The registry in Prometheus' text format.
    public static func exposition() -> [UInt8] { registry.emitToBuffer() }

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
