import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OffboardingCore
import Synchronization

/// `POST /webhooks/connectwise`: ConnectWise callbacks. `x-content-signature` must be
/// base64(HMAC-SHA256(key = SHA-256 of the signing key, message = raw body)); the signing key is
/// fetched from the payload's `Metadata.key_url`, but only from an allowed host, over https (http
/// for loopback hosts only), so that a forged payload cannot point the check at a key it chose.
struct ConnectWiseWebhook: Sendable {
    let ingress: WebhookIngress
    let keyURLHosts: [String]
    let keys: CallbackKeyCache

    func handle(_ request: Request) async throws -> Response {
        let body = try await JSONResponses.body(of: request)
        guard let value = try? JSONValue.parse(body), case .object(let payload) = value else {
            return JSONResponses.error(.badRequest, code: "InvalidPayload", "the callback body is not a JSON object")
        }
        guard case .object(let metadata)? = payload["Metadata"], case .string(let keyURL)? = metadata["key_url"] else {
            return JSONResponses.error(.badRequest, code: "InvalidPayload", "Metadata.key_url is missing")
        }
        guard let signature = request.headers[HTTPField.Name("x-content-signature")!], let given = Data(base64Encoded: signature) else {
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "x-content-signature is missing or not base64")
        }
        guard let url = URL(string: keyURL) else {
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "Metadata.key_url is not a URL")
        }
        if let why = Self.refusal(of: url, allowedHosts: keyURLHosts) {
            ingress.logger.warning("ConnectWise callback refused: key_url not allowed", metadata: ["webhook.key_url": "\(keyURL)", "webhook.reason": "\(why)"])
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "Metadata.key_url is not allowed: \(why)")
        }
        var verified = false
        for refresh in [false, true] {
            // A cached key that no longer verifies may have been rotated: fetch it once more.
            guard let key = await keys.key(for: url.absoluteString, refresh: refresh) else { break }
            if ConstantTime.equal(Self.signature(of: body, signingKey: key), Array(given)) {
                verified = true
                break
            }
        }
        guard verified else {
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "x-content-signature does not match the body")
        }
        guard case .string(let type)? = payload["Type"], type.lowercased() == "company" else {
            return JSONResponses.json(.ok, ["event_id": NSNull(), "ignored": "not a company callback"])
        }
        let action: String = if case .string(let text)? = payload["Action"] { text.lowercased() } else { "" }
        guard action != "deleted" else { return JSONResponses.json(.ok, ["event_id": NSNull(), "ignored": "company deleted"]) }
        let companyID: String
        switch payload["ID"] {
        case .number(let id)? where id >= 1 && id == id.rounded(): companyID = String(Int64(id))
        case .string(let id)? where Int(id) != nil: companyID = id
        default: return JSONResponses.error(.badRequest, code: "InvalidPayload", "ID must be the company id")
        }
        // `Entity` is the record as a JSON string; CW sends no old values, and may leave it out.
        var status: String?
        var name: String?
        if case .string(let entityText)? = payload["Entity"], let entity = try? JSONValue.parse(Array(entityText.utf8)), case .object(let record) = entity {
            if case .object(let statusObject)? = record["status"], case .string(let statusName)? = statusObject["name"], !statusName.isEmpty {
                status = statusName
            }
            if case .string(let companyName)? = record["name"] { name = companyName }
        }
        let messageID: String = if case .string(let id)? = payload["MessageId"], !id.isEmpty { id } else { WebhookIngress.digest(String(decoding: body, as: UTF8.self)) }
        return await ingress.accept(WebhookNotice(deliveryID: messageID, companyID: companyID, companyName: name, status: status))
    }

    /// The MAC bytes (the header carries them base64-encoded).
    static func signature(of body: [UInt8], signingKey: String) -> [UInt8] {
        let key = SymmetricKey(data: SHA256.hash(data: Data(signingKey.utf8)))
        return Array(HMAC<SHA256>.authenticationCode(for: body, using: key))
    }

    /// Why a key URL may not be fetched; nil when it may.
    static func refusal(of url: URL, allowedHosts: [String]) -> String? {
        guard let host = url.host?.lowercased(), let scheme = url.scheme?.lowercased() else { return "it has no host" }
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host)
        guard scheme == "https" || (scheme == "http" && loopback) else { return "scheme \(scheme) (https only; http for loopback hosts)" }
        let allowed = allowedHosts.contains { pattern in
            pattern.hasPrefix("*.") ? host.hasSuffix(String(pattern.dropFirst(1))) : host == pattern
        }
        return allowed ? nil : "host \(host) is not in webhooks.connectwise.key_url_hosts"
    }
}

/// Signing keys by key URL, fetched once and kept for an hour.
final class CallbackKeyCache: Sendable {
    private let httpClient: HTTPClient
    private let keys = Mutex<[String: (key: String, fetched: ContinuousClock.Instant)]>([:])
    private let logger: Logger

    init(httpClient: HTTPClient, logger: Logger) {
        self.httpClient = httpClient
        self.logger = logger
    }

    func key(for url: String, refresh: Bool) async -> String? {
        if !refresh, let cached = keys.withLock({ $0[url] }), ContinuousClock.now - cached.fetched < .seconds(3600) {
            return cached.key
        }
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            let response = try await httpClient.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 64 << 10)
            guard response.status == .ok, let value = try? JSONValue.parse(Array(body.readableBytesView)), case .object(let fields) = value,
                case .string(let key)? = fields["signing_key"], !key.isEmpty
            else {
                logger.warning("ConnectWise signing key not served", metadata: ["http.status": "\(response.status.code)"])
                return nil
            }
            keys.withLock { $0[url] = (key, .now) }
            return key
        } catch {
            logger.warning("ConnectWise signing key not fetched", metadata: ["http.error": "\(error)"])
            return nil
        }
    }
}
