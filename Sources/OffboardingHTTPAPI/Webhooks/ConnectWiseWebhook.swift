import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OffboardingCore
import PSAHTTP
import Synchronization

/// `POST /webhooks/connectwise`: ConnectWise callbacks. `x-content-signature` must be
/// base64(HMAC-SHA256(key = SHA-256 of the signing key, message = raw body)); the signing key is
/// fetched from the payload's `Metadata.key_url`, but only from an allowed host, over https (http
/// for loopback hosts only), so that a forged payload cannot point the check at a key it chose.
struct ConnectWiseWebhook: Sendable {
    let ingress: WebhookIngress
    let keyURLHosts: [String]
    let keys: CallbackKeyCache
    /// The configured login company (`psa.connectwise.company_id`): every ConnectWise cloud tenant
    /// calls back from the same hosts, so a delivery signed by another tenant's key is still not ours.
    let companyID: String

    func handle(_ request: Request) async throws -> Response {
        let body = try await JSONResponses.body(of: request)
        let payload: ConnectWiseCallbackPayload
        do {
            payload = try ConnectWiseCallbackPayload.parse(body)
        } catch {
            return JSONResponses.error(.badRequest, code: "InvalidPayload", error.message)
        }
        guard let signature = request.headers[HTTPField.Name("x-content-signature")!], let given = Data(base64Encoded: signature) else {
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "x-content-signature is missing or not base64")
        }
        // Checked before any key is fetched: a callback of another tenant never makes us fetch its key.
        guard let tenant = payload.tenant, tenant.caseInsensitiveCompare(companyID) == .orderedSame else {
            ingress.logger.warning("ConnectWise callback refused: it is for another ConnectWise company")
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "CompanyId is not the configured ConnectWise company")
        }
        guard let url = URL(string: payload.keyURL) else {
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "Metadata.key_url is not a URL")
        }
        if let why = Self.refusal(of: url, allowedHosts: keyURLHosts) {
            ingress.logger.warning("ConnectWise callback refused: key_url not allowed", metadata: ["webhook.key_url": "\(payload.keyURL)", "webhook.reason": "\(why)"])
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "Metadata.key_url is not allowed: \(why)")
        }
        var verified = false
        var keyKnown = false
        for refresh in [false, true] {
            // A cached key that no longer verifies may have been rotated: fetch it once more.
            guard let key = await keys.key(for: url.absoluteString, refresh: refresh) else { break }
            keyKnown = true
            if ConstantTime.equal(Self.signature(of: body, signingKey: key), Array(given)) {
                verified = true
                break
            }
        }
        // Without the key nothing is known about the signature: a delivery refused as forged
        // would be lost, one answered "try again" is delivered again.
        guard keyKnown else {
            return JSONResponses.error(
                .serviceUnavailable, code: "SigningKeyUnavailable", "the signing key at Metadata.key_url could not be fetched; try again",
                headers: [.retryAfter: "30"])
        }
        guard verified else {
            return JSONResponses.error(.unauthorized, code: "InvalidSignature", "x-content-signature does not match the body")
        }
        return await ingress.answer(payload.content)
    }

    /// The MAC bytes (the header carries them base64-encoded).
    static func signature(of body: [UInt8], signingKey: String) -> [UInt8] {
        let key = SymmetricKey(data: SHA256.hash(data: Data(signingKey.utf8)))
        return Array(HMAC<SHA256>.authenticationCode(for: body, using: key))
    }

    /// Why a key URL may not be fetched; nil when it may.
    static func refusal(of url: URL, allowedHosts: [String]) -> String? {
        guard let host = url.host?.lowercased(), let scheme = url.scheme?.lowercased() else { return "it has no host" }
        let loopback = PSAOrigin.isLoopback(host: host)
        guard scheme == "https" || (scheme == "http" && loopback) else { return "scheme \(scheme) (https only; http for loopback hosts)" }
        if let port = url.port, port != 443, !loopback { return "port \(port) (only the default port)" }
        let allowed = allowedHosts.contains { pattern in
            pattern.hasPrefix("*.") ? host.hasSuffix(String(pattern.dropFirst(1))) : host == pattern
        }
        return allowed ? nil : "host \(host) is not in webhooks.connectwise.key_url_hosts"
    }
}

/// Signing keys by key URL, fetched once and kept for an hour. A key URL is fetched by one
/// request at a time however many deliveries name it, and at most `capacity` keys are kept (the
/// oldest go first), since the URLs come from payloads.
final class CallbackKeyCache: Sendable {
    private struct Entry {
        var key: String
        var fetched: ContinuousClock.Instant
    }

    private enum Lookup {
        case cached(String)
        case fetching(Task<String?, Never>)
    }

    private struct State {
        var keys: [String: Entry] = [:]
        var fetching: [String: Task<String?, Never>] = [:]
    }

    static let lifetime = Duration.seconds(3600)
    private let httpClient: HTTPClient
    private let state = Mutex(State())
    private let capacity: Int
    private let logger: Logger

    init(httpClient: HTTPClient, capacity: Int = 64, logger: Logger) {
        self.httpClient = httpClient
        self.capacity = max(1, capacity)
        self.logger = logger
    }

    var count: Int { state.withLock { $0.keys.count } }

    func key(for url: String, refresh: Bool) async -> String? {
        let lookup = state.withLock { state -> Lookup in
            if !refresh, let cached = state.keys[url], ContinuousClock.now - cached.fetched < Self.lifetime {
                return .cached(cached.key)
            }
            if let running = state.fetching[url] { return .fetching(running) }
            let fetching = Task { await self.fetch(url) }
            state.fetching[url] = fetching
            return .fetching(fetching)
        }
        switch lookup {
        case .cached(let key): return key
        case .fetching(let fetching): return await fetching.value
        }
    }

    private func fetch(_ url: String) async -> String? {
        let key = await download(url)
        state.withLock { state in
            state.fetching[url] = nil
            guard let key else { return }
            state.keys[url] = Entry(key: key, fetched: .now)
            while state.keys.count > capacity, let oldest = state.keys.min(by: { $0.value.fetched < $1.value.fetched })?.key {
                state.keys[oldest] = nil
            }
        }
        return key
    }

    private func download(_ url: String) async -> String? {
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            let response = try await httpClient.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 64 << 10)
            guard response.status == .ok, let value = try? JSONValue.parse(Array(body.readableBytesView), limits: .request), case .object(let fields) = value,
                case .string(let key)? = fields["signing_key"], !key.isEmpty
            else {
                logger.warning("ConnectWise signing key not served", metadata: ["http.status": "\(response.status.code)"])
                return nil
            }
            return key
        } catch {
            logger.warning("ConnectWise signing key not fetched", metadata: ["http.error": "\(error)"])
            return nil
        }
    }
}
