import AsyncHTTPClient
import NIOCore
import NIOHTTP1

extension HTTPClient {
    /// An answer read whole within `timeout`, or none: async-http-client's own deadline ends once
    /// the head is in, so a peer that stalls mid-body would otherwise hold the call (and whatever
    /// place it holds) for ever.
    public func wholeAnswer(to request: HTTPClientRequest, timeout: Duration, upTo maxBytes: Int) async throws -> WholeAnswer {
        try await withThrowingTaskGroup(of: WholeAnswer?.self) { group in
            group.addTask {
                let response = try await self.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
                let body = try await response.body.collect(upTo: maxBytes)
                return WholeAnswer(status: Int(response.status.code), headers: response.headers, body: body)
            }
            group.addTask {
                try await _Concurrency.Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let answer = first else { throw AnswerTimedOut(timeout: timeout) }
            return answer
        }
    }
}

/// A status, its headers and the whole body.
public struct WholeAnswer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ByteBuffer
}

/// No whole answer arrived within the timeout.
public struct AnswerTimedOut: Error, CustomStringConvertible {
    public var timeout: Duration
    public var description: String { "no whole answer within \(timeout)" }
}
