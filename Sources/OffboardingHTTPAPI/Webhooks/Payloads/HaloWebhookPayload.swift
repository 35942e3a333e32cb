import OffboardingCore

/// A HaloPSA webhook's body: the client from `object_id` (or a nested `client`), its `inactive`
/// flag when present (else the client is re-read), the delivery from `id`.
package enum HaloWebhookPayload {
    package static func parse(_ body: [UInt8]) throws(WebhookPayloadError) -> WebhookContent {
        guard let value = try? JSONValue.parse(body, limits: .request), case .object(let payload) = value else {
            throw WebhookPayloadError("the webhook body is not a JSON object")
        }
        var client: [String: JSONValue] = [:]
        if case .object(let nested)? = payload["client"] { client = nested }
        guard let id = (payload["object_id"] ?? client["id"])?.integer(in: JSONValue.idRange) else {
            throw WebhookPayloadError("object_id must be the client id, a whole number from 1 to 2^53-1")
        }
        var status: String?
        if case .bool(let inactive)? = client["inactive"] { status = inactive ? "Inactive" : "Active" }
        let name: String? = if case .string(let text)? = client["name"] { text } else { nil }
        let delivery: String = if case .string(let deliveryID)? = payload["id"], !deliveryID.isEmpty { deliveryID } else { WebhookContent.digest(String(decoding: body, as: UTF8.self)) }
        return .notice(WebhookNotice(deliveryID: delivery, companyID: String(id), companyName: name, status: status))
    }
}
