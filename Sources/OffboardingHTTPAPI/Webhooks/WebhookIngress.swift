import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OffboardingCore

/// The part every webhook shares once the delivery is verified and parsed: re-read the company
/// when the payload lacks its status, keep only offboarded statuses, put one event per delivery
/// on the events topic (trigger `webhook`).
package struct WebhookIngress: Sendable {
    let backend: any OffboardingBackend
    let deliveries: WebhookDeliveries
    let logger: Logger

    /// The answer to a verified delivery's payload: 400 when malformed, 200 with the reason when it
    /// concerns no company change, else what `accept` says.
    func answer(_ content: Result<WebhookContent, WebhookPayloadError>) async -> Response {
        switch content {
        case .failure(let error): JSONResponses.error(.badRequest, code: "InvalidPayload", error.message)
        case .success(.ignored(let why)): JSONResponses.json(.ok, ["event_id": NSNull(), "ignored": why])
        case .success(.notice(let notice)): await accept(notice)
        }
    }

    func accept(_ notice: WebhookNotice) async -> Response {
        var logger = self.logger
        logger[metadataKey: "webhook.delivery"] = "\(notice.deliveryID)"
        logger[metadataKey: "psa.company.id"] = "\(notice.companyID)"
        var companyName = notice.companyName
        let statuses: [String]
        if let status = notice.status {
            statuses = [status]
        } else {
            do {
                let company = try await backend.findCompany(.id(notice.companyID))
                statuses = company.statusNames
                companyName = company.name
            } catch {
                if error.code == .clientNotFound {
                    return JSONResponses.json(.ok, ["event_id": NSNull(), "ignored": "company \(notice.companyID) is not in the PSA"])
                }
                // Not acknowledged, so that the PSA delivers it again once the PSA API answers.
                logger.warning("webhook company re-read failed; delivery refused for a repeat", metadata: ["psa.error": "\(error)"])
                return JSONResponses.error(.serviceUnavailable, code: error.code.rawValue, "the company could not be re-read: \(error.message)")
            }
        }
        guard let offboarded = statuses.first(where: backend.defaults.isOffboarded(status:)) else {
            return JSONResponses.json(.ok, ["event_id": NSNull(), "ignored": "status \(statuses.joined(separator: " / ")) is not an offboarded one"])
        }
        let eventID = "webhook-\(backend.psa.rawValue)-" + Self.digest(notice.deliveryID)
        guard deliveries.claim(eventID) else {
            logger.info("repeated webhook delivery; no second event")
            return JSONResponses.json(.ok, ["event_id": eventID, "duplicate": true])
        }
        let event = CompanyStatusChangedEvent(
            id: eventID, source: "psa/\(backend.psa.rawValue)/webhook", time: Timestamp.string(Date()), psa: backend.psa,
            companyID: notice.companyID, companyName: companyName, status: offboarded, trigger: .webhook)
        do {
            try await backend.submit(event)
        } catch {
            deliveries.release(eventID)
            logger.error("webhook event not written; delivery refused for a repeat", metadata: ["kafka.error": "\(error)"])
            return JSONResponses.error(.serviceUnavailable, code: "KafkaUnavailable", "the event could not be written to Kafka")
        }
        logger.info("webhook delivery turned into an event", metadata: ["offboarding.event.id": "\(eventID)"])
        return JSONResponses.json(.ok, ["event_id": eventID])
    }

    /// Delivery ids come from outside: hashed so that the event id has a fixed, safe shape.
    static func digest(_ text: String) -> String {
        WebhookContent.digest(text)
    }
}
