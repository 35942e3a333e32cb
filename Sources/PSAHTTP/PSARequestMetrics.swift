import Metrics
import NIOHTTP1

/// Every answer from the PSA, as swift-metrics counts it: requests by PSA, method, operation and HTTP status
/// (`error` when none came), their latency, and the rate the pacer learnt. Label values stay
/// bounded: no URLs, ids or client names.
struct PSARequestMetrics: Sendable {
    let psa: String
    private let learntRate: Gauge

    init(psa: String) {
        self.psa = psa
        self.learntRate = Gauge(label: "psa_offboarder_psa_learnt_rate_requests_per_second", dimensions: [("psa", psa)])
    }

    /// - Parameter resource: what the call addressed (`PSAHTTPTransport.resource`).
    func record(method: HTTPMethod, resource: String, status: Int?, latency: Duration, learntRate rate: Double?) {
        let methodName = "\(method)"
        Counter(
            label: "psa_offboarder_psa_requests_total",
            dimensions: [("psa", psa), ("method", methodName), ("operation", resource), ("status", status.map { String($0) } ?? "error")]
        ).increment()
        Timer(label: "psa_offboarder_psa_request_duration_seconds", dimensions: [("psa", psa), ("method", methodName)], preferredDisplayUnit: .seconds)
            .record(duration: latency)
        if let rate { learntRate.record(rate) }
    }
}
