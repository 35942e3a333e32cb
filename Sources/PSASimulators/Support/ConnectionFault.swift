import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// A PSA that fails to answer at all, as an overloaded node, a proxy or a network does: what a
/// status code cannot show. Only the client's own timeout ends a hang or a stall; the server
/// resets what is still held when it stops, so a test ends either way.
public enum ConnectionFault: Sendable, Hashable, CaseIterable {
    /// The request is read and nothing is ever sent back.
    case neverAnswer
    /// The head and the first half of the answer are sent (the write took effect), then nothing more.
    case stallMidBody
    /// The connection is reset (TCP RST) without an answer.
    case reset

    /// Whether the PSA did the work before the connection failed: an answer that stalls was being
    /// sent, so it was made.
    var appliesFirst: Bool { if case .stallMidBody = self { true } else { false } }
}

extension ConnectionFault {
    struct Served: Error {}

    /// Fails `channel` as this fault says, in place of `answer`; never returns an answer.
    func serve(_ answer: SimulatedResponse, fields: HTTPFields, on channel: any Channel) async throws -> Response {
        switch self {
        case .reset:
            try await Self.reset(channel)
            throw Served()
        case .neverAnswer:
            await Self.holdUntilStopped()
            try await Self.reset(channel)
            throw Served()
        case .stallMidBody:
            let body = answer.body
            let half = ByteBuffer(bytes: body.prefix(body.count / 2))
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: fields,
                // At least a byte is owed, so that even an empty answer is left unfinished.
                body: ResponseBody(contentLength: max(body.count, 1)) { writer in
                    try await writer.write(half)
                    await Self.holdUntilStopped()
                    try await Self.reset(channel)
                    throw Served()
                })
        }
    }

    /// Returns when the server begins to stop (or after a day, the longest a test could run).
    private static func holdUntilStopped() async {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(86_400)) }
    }

    /// Closes with SO_LINGER 0: the peer gets a TCP RST, as from a crashed node or a middlebox.
    private static func reset(_ channel: any Channel) async throws {
        if let socket = channel as? any SocketOptionProvider {
            try? await socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close()
    }
}
