import Hummingbird
import NIOCore
import Synchronization

/// A receiver of notices on loopback, standing in for a Teams Workflow, a Slack webhook or an
/// MSP's own automation: it keeps every request it gets (path, headers, body) and answers each
/// path as told (`answer(_:with:)`), 200 by default. For `demo` and tests.
public final class NoticeReceiver: Sendable {
    public struct Delivery: Sendable {
        public var path: String
        /// Lower-cased names.
        public var headers: [String: String]
        public var body: [UInt8]
        /// What the receiver answered it.
        public var status: Int
        public var receivedAt: ContinuousClock.Instant
    }

    public struct Answer: Sendable {
        public var status: Int
        public var retryAfter: String?
        public var body: String

        public init(status: Int, retryAfter: String? = nil, body: String = "") {
            self.status = status
            self.retryAfter = retryAfter
            self.body = body
        }
    }

    private struct State {
        var deliveries: [Delivery] = []
        /// Per path: answers to give in turn; the last one stays.
        var answers: [String: [Answer]] = [:]
        /// Per path: answers for bodies holding a marker, before `answers`.
        var marked: [String: (marker: String, answers: [Answer])] = [:]
        var listeners: [@Sendable (Delivery) -> Void] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Answers the next requests to `path` with `answers` in turn, repeating the last.
    public func answer(_ path: String, with answers: [Answer]) {
        state.withLock { $0.answers[path] = answers }
    }

    /// Answers the next requests to `path` whose body holds `marker` with `answers` in turn,
    /// repeating the last; other bodies are answered as before.
    public func answer(_ path: String, forBodiesHolding marker: String, with answers: [Answer]) {
        state.withLock { $0.marked[path] = (marker, answers) }
    }

    /// Called with each request as it is answered (the demo prints them).
    public func onDelivery(_ listener: @escaping @Sendable (Delivery) -> Void) {
        state.withLock { $0.listeners.append(listener) }
    }

    public var deliveries: [Delivery] { state.withLock { $0.deliveries } }

    /// Waits until a request satisfying `condition` has come, at most `timeout`; says whether it came.
    public func waitForDelivery(timeout: Duration, where condition: @escaping @Sendable (Delivery) -> Bool) async -> Bool {
        let (arrivals, continuation) = AsyncStream<Bool>.makeStream()
        // Finished on return, so the listener left behind yields into nothing.
        defer { continuation.finish() }
        onDelivery { if condition($0) { continuation.yield(true) } }
        if deliveries.contains(where: condition) { return true }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            continuation.yield(false)
        }
        defer { timer.cancel() }
        for await arrived in arrivals { return arrived }
        return false
    }

    public func deliveries(to path: String) -> [Delivery] { deliveries.filter { $0.path == path } }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let receivedAt = ContinuousClock.now
            let path = request.uri.path
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let text = String(buffer: body)
            let (answer, listeners) = self.state.withLock { state -> (Answer, [@Sendable (Delivery) -> Void]) in
                if let marked = state.marked[path], text.contains(marked.marker), let answer = marked.answers.first {
                    if marked.answers.count > 1 { state.marked[path] = (marked.marker, Array(marked.answers.dropFirst())) }
                    return (answer, state.listeners)
                }
                var queue = state.answers[path] ?? []
                let answer = queue.first ?? Answer(status: 200, body: "ok")
                if queue.count > 1 { queue.removeFirst() }
                state.answers[path] = queue
                return (answer, state.listeners)
            }
            let delivery = Delivery(path: path, headers: headers, body: Array(buffer: body), status: answer.status, receivedAt: receivedAt)
            self.state.withLock { $0.deliveries.append(delivery) }
            for listener in listeners { listener(delivery) }
            var fields: HTTPFields = [.contentType: "text/plain"]
            if let retryAfter = answer.retryAfter { fields[.retryAfter] = retryAfter }
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
        }
        return router
    }
}
