import AsyncHTTPClient
import Hummingbird
import Logging

/// One PSA's webhook ingress, as configured: its route (`POST /webhooks/{route}`) and the handler
/// that verifies a delivery before it becomes an event. Each PSA's lives in a file of its own; the
/// server registers whichever one the configuration holds, and knows no PSA by name.
package protocol PSAWebhook: Sendable {
    var route: String { get }
    /// - Parameter keyClient: the server's own HTTP client, for deliveries whose key is fetched.
    func handler(ingress: WebhookIngress, keyClient: HTTPClient, logger: Logger) -> @Sendable (Request) async throws -> Response
}
