import Crypto
import Foundation

/// What a verified webhook delivery says about one company.
package struct WebhookNotice: Sendable, Hashable {
    /// The PSA's id for this delivery; a repeat carries the same one.
    package var deliveryID: String
    package var companyID: String
    package var companyName: String?
    /// The status the payload reports; nil when it does not say, and the company is re-read.
    package var status: String?
}

/// A delivery's payload, read: a notice about a company, or a reason it concerns none.
package enum WebhookContent: Sendable, Hashable {
    case notice(WebhookNotice)
    case ignored(String)

    /// Delivery ids come from outside: hashed so that the event id has a fixed, safe shape.
    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(16).hexEncoded
    }
}

/// A payload that is not what the PSA sends (answered 400).
package struct WebhookPayloadError: Error, Sendable, Hashable, CustomStringConvertible {
    package var message: String
    init(_ message: String) { self.message = message }
    package var description: String { message }
}
