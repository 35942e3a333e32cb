import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The HTTP edge's bounds, one per connection: an idle connection is closed after `idle`; a
/// request whose head has begun must be complete within `header` (a client trickling its headers
/// a byte at a time keeps a connection busy without ever being idle, which an idle timeout alone
/// does not see); a body must arrive within `body` of its head; and beyond `maxConnections` open
/// at once, a new connection is closed as it is accepted.
///
/// It sits after the HTTP decoding (it sees request heads, bodies and ends, and the responses),
/// and puts a companion at the front of the pipeline that tells it when the first bytes of a
/// request arrive, before any of it can be decoded.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Limits: Sendable, Hashable {
        var header: Duration
        var idle: Duration
        var body: Duration
        var maxConnections: Int
    }

    /// Connections open now, over every connection of the server.
    final class OpenConnections: Sendable {
        let count = Atomic<Int>(0)
    }

    private enum Phase {
        /// Between requests (or before the first): waiting for a byte.
        case idle
        /// Bytes arrived: the head is being read.
        case head
        /// The head arrived: the body is being read (also after an early answer, such as a 401
        /// before the body was read, while the server reads and drops the rest).
        case body
        /// The request is read and its response not yet written.
        case responding
    }

    private let limits: Limits
    private let open: OpenConnections
    private let logger: Logger
    private var phase = Phase.idle
    /// The current request's response has ended while its body was still being read.
    private var answeredEarly = false
    private var timer: Scheduled<Void>?
    private var counted = false
    private var context: ChannelHandlerContext?

    init(limits: Limits, open: OpenConnections, logger: Logger) {
        self.limits = limits
        self.open = open
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        try? context.pipeline.syncOperations.addHandler(FirstBytes(owner: self), position: .first)
        if context.channel.isActive { opened(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        closed()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        opened(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        closed()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase = .body
            answeredEarly = false
            arm(limits.body, reason: "body")
        case .body:
            break
        case .end:
            if answeredEarly {
                // Answered already: the connection is idle from here.
                answeredEarly = false
                phase = .idle
                arm(limits.idle, reason: "idle")
            } else {
                phase = .responding
                cancelTimer()
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            switch phase {
            case .responding:
                // The next request may come on this connection: it is idle until its first byte.
                phase = .idle
                arm(limits.idle, reason: "idle")
            case .body:
                // Answered before its body was read: the rest of the body still has the body
                // deadline it was given, and the connection is idle once it has arrived.
                answeredEarly = true
            case .idle, .head:
                break
            }
        }
        context.write(data, promise: promise)
    }

    /// The first bytes of a request: from now its head has `header` to arrive.
    fileprivate func bytesArrived() {
        guard phase == .idle else { return }
        phase = .head
        arm(limits.header, reason: "header")
    }

    private func opened(_ context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        let now = open.count.add(1, ordering: .relaxed).newValue
        guard now <= limits.maxConnections else {
            Self.closedConnections(reason: "max_connections").increment()
            logger.warning("HTTP connection refused: too many open", metadata: ["http.max_connections": "\(limits.maxConnections)"])
            // Once the server has finished taking it on (its shutdown keeps a list of connections).
            context.eventLoop.assumeIsolated().execute { context.close(promise: nil) }
            return
        }
        arm(limits.idle, reason: "idle")
    }

    private func closed() {
        guard counted else { return }
        counted = false
        open.count.subtract(1, ordering: .relaxed)
    }

    private func arm(_ deadline: Duration, reason: String) {
        cancelTimer()
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(deadline)) { [weak self] in
            guard let self, let context = self.context else { return }
            self.timer = nil
            Self.closedConnections(reason: reason).increment()
            self.logger.debug("HTTP connection closed: \(reason) deadline passed")
            context.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    static func closedConnections(reason: String) -> Counter {
        Counter(label: "psa_offboarder_http_connections_closed_total", dimensions: [("reason", reason)])
    }

    /// At the front of the pipeline, before the HTTP decoder: tells the guard when bytes arrive.
    private final class FirstBytes: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer

        private weak var owner: ConnectionGuard?

        init(owner: ConnectionGuard) {
            self.owner = owner
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            owner?.bytesArrived()
            context.fireChannelRead(data)
        }
    }
}
