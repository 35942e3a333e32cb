import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OffboardingCore

/// `POST /webhooks/autotask`: Autotask company webhooks. `X-Hook-Signature` must be `sha1=` +
/// base64(HMAC-SHA1(key = the webhook's secret, message = the raw body)), checked on the bytes
/// as received.
package struct AutotaskWebhook: Sendable {
    /// `webhooks.autotask`.
    package struct Settings: PSAWebhook {
        package var secret: String
        package var route: String { "autotask" }

        package init(secret: String) {
            self.secret = secret
        }

        package func handler(ingress: WebhookIngress, keyClient: HTTPClient, logger: Logger) -> @Sendable (Request) async throws -> Response {
            let webhook = AutotaskWebhook(ingress: ingress, secret: secret)
            return { try await webhook.handle($0) }
        }
    }

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
        return await ingress.answer(Result { () throws(WebhookPayloadError) in try AutotaskWebhookPayload.parse(body) })
    }

    static func signature(of body: [UInt8], secret: String) -> [UInt8] {
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return Array(Data(mac).base64EncodedString().utf8)
    }
}
