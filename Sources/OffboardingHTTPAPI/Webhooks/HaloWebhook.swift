import Foundation
import HTTPTypes
import Hummingbird
import OffboardingCore

/// `POST /webhooks/halopsa`: HaloPSA webhooks with Basic authentication (Halo does not sign its
/// deliveries). The client is taken from `object_id` (or a nested `client`); its `inactive` flag
/// when present, else the client is re-read.
struct HaloWebhook: Sendable {
    let ingress: WebhookIngress
    let username: String
    let password: String

    func handle(_ request: Request) async throws -> Response {
        let body = try await JSONResponses.body(of: request)
        let challenge: HTTPFields = [.wwwAuthenticate: "Basic realm=\"psa-offboarder\""]
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6)))
        else {
            return JSONResponses.error(.unauthorized, code: "Unauthorized", "Basic authentication is required", headers: challenge)
        }
        guard ConstantTime.equal(Array(decoded), Array("\(username):\(password)".utf8)) else {
            return JSONResponses.error(.unauthorized, code: "Unauthorized", "the credentials are not valid", headers: challenge)
        }
        guard let value = try? JSONValue.parse(body), case .object(let payload) = value else {
            return JSONResponses.error(.badRequest, code: "InvalidPayload", "the webhook body is not a JSON object")
        }
        var client: [String: JSONValue] = [:]
        if case .object(let nested)? = payload["client"] { client = nested }
        let companyID: String
        switch payload["object_id"] ?? client["id"] {
        case .number(let id)? where id >= 1 && id == id.rounded(): companyID = String(Int64(id))
        default: return JSONResponses.error(.badRequest, code: "InvalidPayload", "object_id must be the client id")
        }
        var status: String?
        if case .bool(let inactive)? = client["inactive"] { status = inactive ? "Inactive" : "Active" }
        let name: String? = if case .string(let text)? = client["name"] { text } else { nil }
        let delivery: String = if case .string(let id)? = payload["id"], !id.isEmpty { id } else { WebhookIngress.digest(String(decoding: body, as: UTF8.self)) }
        return await ingress.accept(WebhookNotice(deliveryID: delivery, companyID: companyID, companyName: name, status: status))
    }
}
