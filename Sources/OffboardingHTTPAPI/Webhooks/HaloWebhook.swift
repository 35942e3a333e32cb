import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OffboardingCore

/// `POST /webhooks/halopsa`: HaloPSA webhooks with Basic authentication (Halo does not sign its
/// deliveries). The client is taken from `object_id` (or a nested `client`); its `inactive` flag
/// when present, else the client is re-read.
package struct HaloWebhook: Sendable {
    /// `webhooks.halopsa`.
    package struct Settings: PSAWebhook {
        package var username: String
        package var password: String
        package var route: String { "halopsa" }

        package init(username: String, password: String) {
            self.username = username
            self.password = password
        }

        package func handler(ingress: WebhookIngress, keyClient: HTTPClient, logger: Logger) -> @Sendable (Request) async throws -> Response {
            let webhook = HaloWebhook(ingress: ingress, username: username, password: password)
            return { try await webhook.handle($0) }
        }
    }

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
        return await ingress.answer(Result { () throws(WebhookPayloadError) in try HaloWebhookPayload.parse(body) })
    }
}
