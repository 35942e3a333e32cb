import Crypto
import Foundation

/// The console's sessions and CSRF tokens, signed rather than stored: every replica behind the
/// Service checks a cookie another replica issued, as long as they share the API tokens the key
/// comes from. Changing the tokens ends every session.
///
/// A session cookie is `expiry.nonce.mac`; the CSRF token of a session is a MAC of its nonce, so a
/// page from one session is no good in another, and a site that cannot read the page cannot forge it.
struct ConsoleSessions: Sendable {
    static let cookieName = "psa_offboarder_session"
    /// The pre-sign-in cookie whose nonce the sign-in form's CSRF token is bound to.
    static let loginCookieName = "psa_offboarder_login"
    static let lifetime: TimeInterval = 8 * 3600
    static let loginLifetime: TimeInterval = 600

    /// The HMAC key's bytes (`SymmetricKey` is not `Sendable`).
    private let key: [UInt8]?
    private let tokens: [String]

    /// - Parameter apiTokens: the bearer tokens of `/v1`; with none, nobody signs in.
    init(apiTokens: [String]) {
        tokens = apiTokens
        guard !apiTokens.isEmpty else {
            key = nil
            return
        }
        var hash = SHA256()
        hash.update(data: Array("psa-offboarder console v1".utf8))
        for token in apiTokens.sorted() {
            hash.update(data: [0])
            hash.update(data: Array(token.utf8))
        }
        key = Array(hash.finalize())
    }

    struct Session: Sendable, Hashable {
        var nonce: String
        var expiry: Int
        var cookie: String
    }

    var isOpen: Bool { key != nil }

    func accepts(token: String) -> Bool {
        isOpen && ConstantTime.matchesAny(token, tokens)
    }

    func newSession(now: Date = Date()) -> Session? {
        let nonce = Self.randomNonce()
        let expiry = Int(now.timeIntervalSince1970 + Self.lifetime)
        guard let mac = mac("session|\(expiry)|\(nonce)") else { return nil }
        return Session(nonce: nonce, expiry: expiry, cookie: "\(expiry).\(nonce).\(mac)")
    }

    /// The session a cookie value names, if it is signed by this key and not expired.
    func session(fromCookie value: String?, now: Date = Date()) -> Session? {
        guard let value else { return nil }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int(parts[0]), parts[1].count == 32, let expected = mac("session|\(expiry)|\(parts[1])"),
            ConstantTime.equal(expected, String(parts[2])), Double(expiry) > now.timeIntervalSince1970
        else { return nil }
        return Session(nonce: String(parts[1]), expiry: expiry, cookie: value)
    }

    func csrfToken(for session: Session) -> String { mac("csrf|\(session.nonce)") ?? "" }

    func checksCSRF(_ token: String?, for session: Session) -> Bool {
        guard let token, let expected = mac("csrf|\(session.nonce)") else { return false }
        return ConstantTime.equal(expected, token)
    }

    static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexEncoded
    }

    /// The sign-in form's token, bound to the pre-sign-in cookie's nonce.
    func loginCSRFToken(nonce: String) -> String { mac("login|\(nonce)") ?? "" }

    func checksLoginCSRF(_ token: String?, nonce: String?) -> Bool {
        guard let token, let nonce, nonce.count == 32, let expected = mac("login|\(nonce)") else { return false }
        return ConstantTime.equal(expected, token)
    }

    private func mac(_ message: String) -> String? {
        guard let key else { return nil }
        return HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)).hexEncoded
    }
}
