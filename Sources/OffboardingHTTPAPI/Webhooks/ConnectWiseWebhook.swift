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
package struct ConnectWiseWebhook: Sendable {
    /// `webhooks.connectwise`, with the login company the callbacks must name.
    package struct Settings: PSAWebhook {
        package var keyURLHosts: [String]
        package var companyID: String
        /// How often one key URL path may be fetched, at most.
        package var keyRefreshInterval = Self.defaultKeyRefreshInterval
        package static var defaultKeyRefreshInterval: Duration { CallbackKeyCache.defaultRefreshInterval }
        package var route: String { "connectwise" }

        package init(keyURLHosts: [String], companyID: String) {
            self.keyURLHosts = keyURLHosts
            self.companyID = companyID
        }

        package func handler(ingress: WebhookIngress, keyClient: HTTPClient, logger: Logger) -> @Sendable (Request) async throws -> Response {
            let webhook = ConnectWiseWebhook(
                ingress: ingress, keyURLHosts: keyURLHosts, keys: CallbackKeyCache(httpClient: keyClient, refreshInterval: keyRefreshInterval, logger: logger),
                companyID: companyID)
            return { try await webhook.handle($0) }
        }
    }

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
            // A cached key that no longer verifies may have been rotated: fetch it once more, when
            // the key URL's path was not fetched within the refresh interval (a forged signature
            // with a fresh query each time must not make the service fetch each time).
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

/// Signing keys by key URL, fetched once and kept for an hour. A key URL is known by its path: its
/// query (an id ConnectWise appends, and which a forged delivery can vary at will) is ignored, so
/// the key is fetched once for every delivery that names the path, by one request at a time, and
/// at most once per `refreshInterval` after a fetch that got a key (a cached key is taken as current
/// within it, even past its hour) and once per `retryInterval` after one that did not, so that a
/// forged key URL that fails to fetch holds a real delivery back for seconds only. At most
/// `capacity` keys are kept (the oldest go first), since the URLs come from payloads.
final class CallbackKeyCache: Sendable {
    private struct Entry {
        var key: String
        var fetched: ContinuousClock.Instant
    }

    private enum Lookup {
        case cached(String)
        case fetching(Task<String?, Never>)
        case unavailable
    }

    private struct State {
        var keys: [String: Entry] = [:]
        var fetching: [String: Task<String?, Never>] = [:]
        /// Per key URL path, until when it is not fetched again.
        var nextFetch: RecentEntries<ContinuousClock.Instant>
    }

    /// How long a fetched key is used before it is fetched again.
    package static let defaultLifetime = Duration.seconds(3600)
    package static let defaultRefreshInterval = Duration.seconds(60)
    /// After a fetch that got no key.
    static let retryInterval = Duration.seconds(5)
    private let httpClient: HTTPClient
    private let state: Mutex<State>
    private let capacity: Int
    private let refreshInterval: Duration
    private let lifetime: Duration
    private let logger: Logger

    init(
        httpClient: HTTPClient, capacity: Int = 64, refreshInterval: Duration = defaultRefreshInterval, lifetime: Duration = defaultLifetime,
        logger: Logger
    ) {
        self.httpClient = httpClient
        self.capacity = max(1, capacity)
        self.refreshInterval = refreshInterval
        self.lifetime = lifetime
        self.logger = logger
        state = Mutex(State(nextFetch: RecentEntries(budget: 1 << 20, maxCount: 4 * self.capacity)))
    }

    var count: Int { state.withLock { $0.keys.count } }

    /// The key URL without its query and fragment: what the fetch interval is counted by.
    static func path(of url: String) -> String {
        String(url.prefix { $0 != "?" && $0 != "#" })
    }

    func key(for url: String, refresh: Bool) async -> String? {
        let path = Self.path(of: url)
        let lookup = state.withLock { state -> Lookup in
            let held = state.keys[path]
            if !refresh, let held, ContinuousClock.now - held.fetched < lifetime { return .cached(held.key) }
            if let running = state.fetching[path] { return .fetching(running) }
            if let next = state.nextFetch[path], ContinuousClock.now < next {
                // Fetched a moment ago: a key held is current; without one, the delivery waits its turn.
                return held.map { Lookup.cached($0.key) } ?? .unavailable
            }
            // Held until the fetch ends, and then for the interval its outcome sets.
            state.nextFetch.set(path, .now + lifetime)
            let fetching = Task { await self.fetch(url, as: path) }
            state.fetching[path] = fetching
            return .fetching(fetching)
        }
        switch lookup {
        case .cached(let key): return refresh ? nil : key
        case .fetching(let fetching): return await fetching.value
        case .unavailable: return nil
        }
    }

    /// Fetches the key at `url` (as the delivery named it) and keeps it for `path`.
    private func fetch(_ url: String, as path: String) async -> String? {
        let key = await download(url)
        state.withLock { state in
            state.fetching[path] = nil
            state.nextFetch.set(path, .now + (key == nil ? min(Self.retryInterval, refreshInterval) : refreshInterval))
            guard let key else { return }
            state.keys[path] = Entry(key: key, fetched: .now)
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
            let answer = try await httpClient.answer(to: request, timeout: .seconds(10), upTo: 64 << 10)
            guard answer.status == 200, let value = try? JSONValue.parse(Array(answer.body.readableBytesView), limits: .request),
                case .object(let fields) = value, case .string(let key)? = fields["signing_key"], !key.isEmpty
            else {
                logger.warning("ConnectWise signing key not served", metadata: ["http.status": "\(answer.status)"])
                return nil
            }
            return key
        } catch {
            logger.warning("ConnectWise signing key not fetched", metadata: ["http.error": "\(error)"])
            return nil
        }
    }
}
