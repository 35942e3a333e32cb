import Hummingbird

/// `GET /health/live` (the process is not stuck) and `GET /health/ready` (Kafka connected, PSA
/// reachable, consumer not stuck): 200 or 503 with a JSON body naming what is wrong. No token, so
/// that orchestrators can probe.
struct HealthRoutes: Sendable {
    let backend: any OffboardingBackend

    func register(on router: Router<OffboardingRequestContext>) {
        router.get("health/live") { _, _ in
            let check = backend.liveness()
            return JSONResponses.json(check.ok ? .ok : .serviceUnavailable, ["status": check.ok ? "live" : "stalled", "consumer": check.detail])
        }
        router.get("health/ready") { _, _ in
            let checks = await backend.readiness()
            let ready = checks.values.allSatisfy(\.ok)
            var body: [String: Any] = ["status": ready ? "ready" : "not_ready"]
            body["checks"] = checks.mapValues { ["ok": $0.ok, "detail": $0.detail] as [String: Any] }
            return JSONResponses.json(ready ? .ok : .serviceUnavailable, body)
        }
    }
}
