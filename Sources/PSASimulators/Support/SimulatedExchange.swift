import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A request as a simulator's store sees it, independent of the HTTP server.
public struct SimulatedRequest: Sendable {
    public var method: String
    public var path: String
    public var rawQuery: String?
    public var query: [String: String]
    /// Lower-cased names.
    public var headers: [String: String]
    /// Lower-cased names of headers sent more than once: the PSAs refuse credentials that are.
    public var repeatedHeaders: Set<String>
    public var body: [UInt8]
    public var host: String

    public init(
        method: String, path: String, rawQuery: String? = nil, query: [String: String] = [:], headers: [String: String] = [:],
        repeatedHeaders: Set<String> = [], body: [UInt8] = [], host: String = "127.0.0.1"
    ) {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.query = query
        self.headers = headers
        self.repeatedHeaders = repeatedHeaders
        self.body = body
        self.host = host
    }

    /// Whether any of these headers (lower-cased) came more than once.
    public func repeats(_ names: String...) -> Bool { names.contains(where: repeatedHeaders.contains) }
}

public struct SimulatedResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The connection fails in this way rather than carry the answer whole.
    public var connectionFault: ConnectionFault?

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The connection failing as `fault` says; `answer` is what a stalled one had begun to send.
    static func failing(_ fault: ConnectionFault, answer: SimulatedResponse?) -> SimulatedResponse {
        var response = answer ?? SimulatedResponse(status: 200)
        response.connectionFault = fault
        return response
    }

    public static func json(_ status: Int, _ object: Any, headers: [(String, String)] = []) -> SimulatedResponse {
        // Keys in no particular order, as a PSA sends them; sorting costs the simulator more CPU
        // than the client it serves on the same machine.
        SimulatedResponse(
            status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: JSONText.bytes(object) ?? Array("null".utf8))
    }
}

/// Something that answers simulated requests.
public protocol SimulatedPSA: Sendable {
    func respond(to request: SimulatedRequest) async -> SimulatedResponse
}

extension SimulatedPSA {
    /// A Hummingbird router sending every request, whatever its path and method, to this simulator.
    public func makeRouter() -> Router<SimulatorRequestContext> {
        let router = Router(context: SimulatorRequestContext.self)
        let simulator = self
        let handler: @Sendable (Request, SimulatorRequestContext) async throws -> Response = { request, context in
            let body = try await request.body.collect(upTo: 16 << 20)
            var headers: [String: String] = [:]
            var repeated: Set<String> = []
            for field in request.headers {
                if headers[field.name.canonicalName] != nil { repeated.insert(field.name.canonicalName) }
                headers[field.name.canonicalName] = field.value
            }
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let simulated = SimulatedRequest(
                method: request.method.rawValue, path: request.uri.path, rawQuery: request.uri.query, query: query, headers: headers,
                repeatedHeaders: repeated, body: Array(body.readableBytesView), host: request.head.authority ?? headers["host"] ?? "127.0.0.1")
            let answer = await simulator.respond(to: simulated)
            var fields = HTTPFields()
            for (name, value) in answer.headers {
                if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
            }
            if let fault = answer.connectionFault { return try await fault.serve(answer, fields: fields, on: context.channel) }
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        for method in [HTTPRequest.Method.get, .post, .patch, .put, .delete] {
            router.on("**", method: method, use: handler)
            router.on("/", method: method, use: handler)
        }
        return router
    }
}
