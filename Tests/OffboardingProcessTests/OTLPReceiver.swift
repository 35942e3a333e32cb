import Foundation
import Hummingbird
import Synchronization

/// A small OTLP/HTTP collector for tests: takes `POST /v1/traces` in OTLP's JSON encoding (the
/// exporter is told `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json`) and keeps every span.
final class OTLPReceiver: Sendable {
    struct Span: Sendable, Hashable {
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var name: String
        /// OTLP's SpanKind: 2 server, 3 client, 5 consumer.
        var kind: Int
    }

    private let received = Mutex<[Span]>([])

    var spans: [Span] { received.withLock { $0 } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            guard let spans = Self.spans(inJSON: Data(body.readableBytesView)) else { return Response(status: .badRequest) }
            self.received.withLock { $0 += spans }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
        }
        return router
    }

    static func spans(inJSON data: Data) -> [Span]? {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let resources = root["resourceSpans"] as? [[String: Any]] else { return nil }
        var spans: [Span] = []
        for resource in resources {
            for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scope["spans"] as? [[String: Any]] ?? [] {
                    spans.append(
                        Span(
                            traceID: hex(span["traceId"]), spanID: hex(span["spanId"]), parentSpanID: hex(span["parentSpanId"]),
                            name: span["name"] as? String ?? "", kind: kind(span["kind"])))
                }
            }
        }
        return spans
    }

    /// OTLP's JSON encoding writes ids in hex; protobuf's own JSON mapping in base64: either is read.
    static func hex(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let bytes = Data(base64Encoded: text) else { return text }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func kind(_ value: Any?) -> Int {
        if let number = value as? Int { return number }
        let names = ["SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5]
        return (value as? String).flatMap { names[$0] } ?? 0
    }
}
