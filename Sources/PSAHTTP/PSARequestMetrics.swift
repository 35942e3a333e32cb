import Metrics
import NIOHTTP1

/// Every answer from the PSA, as swift-metrics counts it: requests by PSA, method and HTTP status
/// (`error` when none came), their latency, and the rate the pacer learnt. Label values stay
/// bounded: no URLs, ids or client names.
struct PSARequestMetrics: Sendable {
    let psa: String
    private let learntRate: Gauge

    init(psa: String) {
        self.psa = psa
        self.learntRate = Gauge(label: "psa_offboarder_psa_learnt_rate_requests_per_second", dimensions: [("psa", psa)])
    }

    func record(method: HTTPMethod, url: String, status: Int?, latency: Duration, learntRate rate: Double?) {
        let methodName = "\(method)"
        Counter(
            label: "psa_offboarder_psa_requests_total",
            dimensions: [("psa", psa), ("method", methodName), ("operation", Self.operation(url)), ("status", status.map { String($0) } ?? "error")]
        ).increment()
        Timer(label: "psa_offboarder_psa_request_duration_seconds", dimensions: [("psa", psa), ("method", methodName)], preferredDisplayUnit: .seconds)
            .record(duration: latency)
        if let rate { learntRate.record(rate) }
    }

    /// The resource a request addresses, as a bounded label: the path's last three segments with
    /// numeric ids replaced, no query (`company/configurations/{id}`, `api/Asset`).
    static func operation(_ url: String) -> String {
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        let afterHost = path.range(of: "://").map { path[$0.upperBound...].drop { $0 != "/" } } ?? Substring(path)
        let segments = afterHost.split(separator: "/").map { $0.allSatisfy(\.isNumber) ? "{id}" : String($0) }
        return segments.suffix(3).joined(separator: "/")
    }
}
