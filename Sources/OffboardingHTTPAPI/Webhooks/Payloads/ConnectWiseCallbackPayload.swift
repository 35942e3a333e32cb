import OffboardingCore

/// A ConnectWise callback's body. The key URL and the tenant are read before the signature is
/// checked (the key URL is where the key comes from); the content is only used after it.
package struct ConnectWiseCallbackPayload: Sendable {
    /// `Metadata.key_url`.
    package var keyURL: String
    /// `CompanyId`: the ConnectWise login company (tenant) that sent it.
    package var tenant: String?
    /// What the callback says, or why it is malformed.
    package var content: Result<WebhookContent, WebhookPayloadError>

    package static func parse(_ body: [UInt8]) throws(WebhookPayloadError) -> ConnectWiseCallbackPayload {
        guard let value = try? JSONValue.parse(body, limits: .request), case .object(let payload) = value else {
            throw WebhookPayloadError("the callback body is not a JSON object")
        }
        guard case .object(let metadata)? = payload["Metadata"], case .string(let keyURL)? = metadata["key_url"] else {
            throw WebhookPayloadError("Metadata.key_url is missing")
        }
        let tenant: String? = if case .string(let text)? = payload["CompanyId"] { text } else { nil }
        return ConnectWiseCallbackPayload(keyURL: keyURL, tenant: tenant, content: content(of: payload, body: body))
    }

    private static func content(of payload: [String: JSONValue], body: [UInt8]) -> Result<WebhookContent, WebhookPayloadError> {
        guard case .string(let type)? = payload["Type"], type.lowercased() == "company" else { return .success(.ignored("not a company callback")) }
        let action: String = if case .string(let text)? = payload["Action"] { text.lowercased() } else { "" }
        guard action != "deleted" else { return .success(.ignored("company deleted")) }
        let companyID: String
        switch payload["ID"] {
        case .number?:
            guard let id = payload["ID"]?.integer(in: JSONValue.idRange) else {
                return .failure(WebhookPayloadError("ID must be the company id, a whole number from 1 to 2^53-1"))
            }
            companyID = String(id)
        case .string(let id)? where Int64(id).map(JSONValue.idRange.contains) == true:
            companyID = id
        default:
            return .failure(WebhookPayloadError("ID must be the company id"))
        }
        // `Entity` is the record as a JSON string; CW sends no old values, and may leave it out.
        var status: String?
        var name: String?
        if case .string(let entityText)? = payload["Entity"], let entity = try? JSONValue.parse(Array(entityText.utf8), limits: .request), case .object(let record) = entity {
            if case .object(let statusObject)? = record["status"], case .string(let statusName)? = statusObject["name"], !statusName.isEmpty {
                status = statusName
            }
            if case .string(let companyName)? = record["name"] { name = companyName }
        }
        let messageID: String = if case .string(let id)? = payload["MessageId"], !id.isEmpty { id } else { WebhookContent.digest(String(decoding: body, as: UTF8.self)) }
        return .success(.notice(WebhookNotice(deliveryID: messageID, companyID: companyID, companyName: name, status: status)))
    }
}
