import Hummingbird
import NIOCore

/// `GET /metrics`: the process's metrics for Prometheus to scrape. No token, like the health
/// routes; label values are bounded and carry no client names or ids.
struct MetricsRoutes: Sendable {
    let backend: any OffboardingBackend

    func register(on router: Router<OffboardingRequestContext>) {
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: backend.metricsExposition())))
        }
    }
}
