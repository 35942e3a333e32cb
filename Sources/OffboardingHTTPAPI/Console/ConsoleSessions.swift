import Crypto
import Foundation

/// The console's sessions, signed rather than stored: every replica behind the Service checks a
/// cookie another replica issued. The key is an HMAC of the API tokens under a server secret (the
/// first record signing key), so it is never derived from the tokens alone, where a page showing
/// a MAC would let anyone test token guesses offline; changing the tokens ends every session.
///
/// A session cookie is `expiry.nonce.mac`; the CSRF token of a session is a MAC of its nonce, so a
/// page from one session is no good in another. The sign-in form's token is a random value that
/// the form and a pre-sign-in cookie both carry (a double submit): it is no MAC over anything public.
struct ConsoleSessions: Sendable {
    static let cookieName = "psa_offboarder_session"
    /// The pre-sign-in cookie whose value the sign-in form must repeat.
    static let loginCookieName = "psa_offboarder_login"
    static let lifetime: TimeInterval = 8 * 3600
    static let loginLifetime: TimeInterval = 600

    /// The HMAC key's bytes (`SymmetricKey` is not `Sendable`).
    private let key: [UInt8]?
    private let tokens: [String]

    /// - Parameters:
    ///   - apiTokens: the bearer tokens of `/v1`; with none, nobody signs in.
    ///   - secret: the server secret; nil: a random one, good for this process only.
    init(apiTokens: [String], secret: [UInt8]?) {
        tokens = apiTokens
        guard !apiTokens.isEmpty else {
            key = nil
            return
        }
        let secret = secret ?? Self.randomBytes(32)
        var message = Array("psa-offboarder console v2".utf8)
        for token in apiTokens.sorted() {
            message.append(0)
            message += Array(token.utf8)
        }
        key = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
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

    static func randomNonce() -> String { randomBytes(16).hexEncoded }

    private static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// The sign-in form's token: the pre-sign-in cookie's random value, repeated in the form.
    func checksLoginCSRF(_ token: String?, cookie: String?) -> Bool {
        guard let token, let cookie, cookie.count == 32 else { return false }
        return ConstantTime.equal(cookie, token)
    }

    private func mac(_ message: String) -> String? {
        guard let key else { return nil }
        return HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)).hexEncoded
    }
}
