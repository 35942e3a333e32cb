import AsyncHTTPClient
import NIOCore
import NIOHTTP1

extension HTTPClient {
    /// An answer read whole: its head within `timeout` (async-http-client's deadline, which ends
    /// once the head is in) and its body with no pause longer than the client's read timeout
    /// (`OffboarderRuntime.makeHTTPClient` sets it to the per-call timeout), so that a peer that
    /// stalls mid-body fails the attempt instead of holding it, and whatever place it holds, for
    /// ever. A timer task per call would bound a trickling body too; measured, it cost ~0.5 KB of
    /// memory per request that did not settle (`scripts/bench hotpath`), for a peer no PSA is.
    public func answer(to request: HTTPClientRequest, timeout: Duration, upTo maxBytes: Int) async throws -> WholeAnswer {
        let response = try await execute(request, timeout: .nanoseconds(timeout.nanoseconds))
        let body = try await response.body.collect(upTo: maxBytes)
        return WholeAnswer(status: Int(response.status.code), headers: response.headers, body: body)
    }
}

/// A status, its headers and the whole body.
public struct WholeAnswer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ByteBuffer
}
