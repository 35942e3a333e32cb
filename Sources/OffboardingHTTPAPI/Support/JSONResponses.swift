import Foundation
import Hummingbird
import NIOCore

/// JSON bodies and the one error shape every route answers with: `{"error": {"code", "message"}}`.
enum JSONResponses {
    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any], headers: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return json(status, Array(data), headers: headers)
    }

    static func error(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) -> Response {
        json(status, ["error": ["code": code, "message": message]], headers: headers)
    }

    /// The raw body, refused above `limit` bytes.
    static func body(of request: Request, limit: Int = 1 << 20) async throws -> [UInt8] {
        Array(try await request.body.collect(upTo: limit).readableBytesView)
    }
}
