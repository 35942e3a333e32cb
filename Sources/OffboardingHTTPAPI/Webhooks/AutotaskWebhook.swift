import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import OffboardingCore

/// `POST /webhooks/autotask`: Autotask company webhooks. `X-Hook-Signature` must be `sha1=` +
/// base64(HMAC-SHA1(key = the webhook's secret, message = the raw body)), checked on the bytes
/// as received.
struct AutotaskWebhook: Sendable {
    let ingress: WebhookIngress
    let secret: String

    func handle(_ request: Request) async throws -> Response {
        let body = try await JSONResponses.body(of: request)
        guard let header = request.headers[HTTPField.Name("x-hook-signature")!], header.hasPrefix("sha1=") else {
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "X-Hook-Signature (sha1=...) is missing")
        }
        guard ConstantTime.equal(Self.signature(of: body, secret: secret), Array(header.dropFirst(5).utf8)) else {
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "X-Hook-Signature does not match the body")
        }
        guard let value = try? JSONValue.parse(body), case .object(let payload) = value else {
            return JSONResponses.error(.badRequest, code: "InvalidPayload", "the webhook body is not a JSON object")
        }
        // "Account" is the legacy name of companies.
        guard case .string(let entity)? = payload["EntityType"], ["company", "account"].contains(entity.lowercased()) else {
            return JSONResponses.json(.ok, ["event_id": NSNull(), "ignored": "not a company webhook"])
        }
        let action: String = if case .string(let text)? = payload["Action"] { text.lowercased() } else { "" }
        guard action == "update" || action == "create" else {
            return JSONResponses.json(.ok, ["event_id": NSNull(), "ignored": "action \(action) is not a change of a company"])
        }
        let companyID: String
        switch payload["Id"] {
        case .number(let id)? where id >= 1 && id == id.rounded(): companyID = String(Int64(id))
        default: return JSONResponses.error(.badRequest, code: "InvalidPayload", "Id must be the company id")
        }
        var status: String?
        var name: String?
        if case .object(let fields)? = payload["Fields"] {
            // A company type change (Cancellation, Dead) is seen only by re-reading its label.
            if case .bool(let active)? = fields["isActive"], fields["companyType"] == nil { status = active ? "Active" : "Inactive" }
            if case .string(let companyName)? = fields["companyName"] { name = companyName }
        }
        let delivery: String
        switch (payload["Guid"], payload["SequenceNumber"]) {
        case (.string(let guid)?, .number(let sequence)?): delivery = "\(guid)/\(Int64(sequence))"
        default: delivery = WebhookIngress.digest(String(decoding: body, as: UTF8.self))
        }
        return await ingress.accept(WebhookNotice(deliveryID: delivery, companyID: companyID, companyName: name, status: status))
    }

    static func signature(of body: [UInt8], secret: String) -> [UInt8] {
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return Array(Data(mac).base64EncodedString().utf8)
    }
}
