import Crypto
import Foundation

/// The generic webhook: the notice as JSON, signed per the Standard Webhooks specification, so a
/// receiver verifies it with that specification's published libraries.
///
/// Body: `{"type": <notice>, "timestamp": <RFC 3339>, "data": {...}}`. Headers: `webhook-id` (the
/// notice's id, the same on every attempt: receivers de-duplicate on it), `webhook-timestamp`
/// (Unix seconds of this attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 over
/// "<id>.<timestamp>.<body>">`.
public enum StandardWebhook {
    /// A `whsec_<base64>` secret's key.
    public struct Secret: Sendable, Hashable, CustomStringConvertible {
        let key: [UInt8]

        /// The specification's keys are 24 to 64 random bytes.
        public static let keyLengths = 24...64

        public init(_ text: String) throws(SecretError) {
            guard text.hasPrefix("whsec_") else { throw SecretError("must start with whsec_ (whsec_ and the key in base64)") }
            guard let key = Data(base64Encoded: String(text.dropFirst("whsec_".count))) else {
                throw SecretError("is not base64 after whsec_")
            }
            guard Self.keyLengths.contains(key.count) else {
                throw SecretError("holds a key of \(key.count) bytes; use \(Self.keyLengths.lowerBound) to \(Self.keyLengths.upperBound)")
            }
            self.key = Array(key)
        }

        /// Never the key.
        public var description: String { "whsec_…" }
    }

    public struct SecretError: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The notice as JSON, as the webhook carries it: also what a notice's dead letter holds.
    public static func body(for notice: Notice) -> [UInt8] {
        var data: [String: Any] = [
            "notice_id": notice.id, "title": notice.title, "summary": notice.summary,
            "facts": notice.facts.map { ["name": $0.name, "value": $0.value] },
            "configurations": notice.configurations.map { config -> [String: Any] in
                var entry: [String: Any] = ["id": config.id, "name": config.name]
                if let action = config.action { entry["action"] = action }
                return entry
            },
            "warnings": notice.warnings.map { ["code": $0.code, "message": $0.message] },
        ]
        if let psa = notice.psa { data["psa"] = psa.rawValue }
        if let id = notice.clientID { data["client_id"] = id }
        if let name = notice.clientName { data["client_name"] = name }
        if let id = notice.eventID { data["event_id"] = id }
        if let id = notice.approvalID { data["approval_id"] = id }
        if let link = notice.link { data["link"] = link.url }
        return NoticeJSON.bytes(["type": notice.kind.rawValue, "timestamp": notice.occurredAt, "data": data] as [String: Any])
    }

    /// The three headers for one attempt.
    static func headers(id: String, timestamp: Date, body: [UInt8], secret: Secret) -> [(String, String)] {
        let seconds = String(Int64(timestamp.timeIntervalSince1970.rounded(.down)))
        let signed = Array("\(id).\(seconds).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret.key))
        return [("webhook-id", id), ("webhook-timestamp", seconds), ("webhook-signature", "v1,\(Data(mac).base64EncodedString())")]
    }
}
