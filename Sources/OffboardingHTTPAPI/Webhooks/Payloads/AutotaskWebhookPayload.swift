import OffboardingCore

/// An Autotask company webhook's body: `EntityType`, `Action`, `Id`, `Fields`, `Guid` and
/// `SequenceNumber` (the two together identify a delivery).
package enum AutotaskWebhookPayload {
    package static func parse(_ body: [UInt8]) throws(WebhookPayloadError) -> WebhookContent {
        guard let value = try? JSONValue.parse(body, limits: .request), case .object(let payload) = value else {
            throw WebhookPayloadError("the webhook body is not a JSON object")
        }
        // "Account" is the legacy name of companies.
        guard case .string(let entity)? = payload["EntityType"], ["company", "account"].contains(entity.lowercased()) else {
            return .ignored("not a company webhook")
        }
        let action: String = if case .string(let text)? = payload["Action"] { text.lowercased() } else { "" }
        guard action == "update" || action == "create" else {
            return .ignored("action \(action) is not a change of a company")
        }
        guard let id = payload["Id"]?.integer(in: JSONValue.idRange) else {
            throw WebhookPayloadError("Id must be the company id, a whole number from 1 to 2^53-1")
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
        case (.string(let guid)?, let sequence?):
            guard let number = sequence.integer() else {
                throw WebhookPayloadError("SequenceNumber must be a whole number within 64 bits")
            }
            delivery = "\(guid)/\(number)"
        default:
            delivery = WebhookContent.digest(String(decoding: body, as: UTF8.self))
        }
        return .notice(WebhookNotice(deliveryID: delivery, companyID: String(id), companyName: name, status: status))
    }
}
