import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import HTTPTypes
import OffboardingCore
import Synchronization
import Testing

@testable import OffboardingHTTPAPI

/// The review console's routes against a fake backend: sign-in, the session cookie's attributes,
/// CSRF on every form, escaping of names from the PSA, and decisions reaching the backend only
/// through a valid form. (`ConsoleBrowserTests` drives the same console in Chromium.)
@Suite struct ConsoleRouteTests {
    static let hostileName = #"<script>alert("x")</script> & Sons"#
    static let approval = ApprovalRecord(
        approvalID: "approval-1", state: .pending, eventID: "event-1", trigger: .api, psa: .connectwise, clientID: "4242", clientName: hostileName,
        reason: "Contract ended", offboardedStatuses: ["Offboarded"], cause: .requested, requestedAt: "2026-12-01T10:00:00Z",
        expiresAt: "2099-01-01T00:00:00Z", configs: [.init(configID: "91", configName: "Firewall"), .init(configID: "92", configName: "=cmd()")])
    static let pendingResult = OffboardingResult(
        success: true, eventID: "event-1", trigger: .api, psa: .connectwise, clientID: "4242", clientName: hostileName, timestamp: "2026-12-01T10:00:00Z",
        dryRun: false, reason: "Contract ended", statistics: .init(configsFound: 2),
        configs: [
            .init(configID: "91", configName: "Firewall", configType: "Firewall", status: .active, previousStatus: .active, action: .pendingApproval, psaStatus: "Active"),
            .init(configID: "92", configName: "=cmd()", configType: "<b>Server</b>", status: .active, previousStatus: .active, action: .pendingApproval),
        ],
        approval: .init(id: "approval-1", state: .pending, expiresAt: "2099-01-01T00:00:00Z", cause: .requested))

    static func backend() -> FakeBackend {
        FakeBackend(.init(result: .found(try! ResultEncoding.encode(pendingResult)), approvals: ["approval-1": approval], recentResults: [pendingResult]))
    }

    func withRoutes(_ backend: FakeBackend, tokens: [String] = [RouteTests.token], _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = OffboardingHTTPServer.router(
            configuration: .init(host: "127.0.0.1", port: 0, apiTokens: tokens), backend: backend, httpClient: .shared, logger: Logger(label: "console-tests"))
        try await Application(router: router).test(.router, body)
    }

    /// `Set-Cookie` values by cookie name, with their attributes.
    static func setCookies(_ response: TestResponse) -> [String: String] {
        var cookies: [String: String] = [:]
        for field in response.headers where field.name == .setCookie {
            if let name = field.value.split(separator: "=").first { cookies[String(name)] = field.value }
        }
        return cookies
    }

    static func cookieValue(_ setCookie: String?) -> String? {
        setCookie?.split(separator: ";").first.map { String($0.split(separator: "=", maxSplits: 1).last ?? "") }
    }

    static func hiddenCSRF(_ html: String) -> String? {
        html.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/).map { String($0.1) }
    }

    static func form(_ fields: [String: String], deactivate: [String] = []) -> ByteBuffer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let pairs = fields.map { ($0.key, $0.value) } + deactivate.map { ("deactivate[]", $0) }
        return ByteBuffer(
            string: pairs.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
                .joined(separator: "&"))
    }

    /// Signs in through the form; returns the session cookie and the dashboard's CSRF token.
    func signIn(_ client: any TestClientProtocol, token: String = RouteTests.token) async throws -> (cookie: String, csrf: String) {
        let loginPage = try await client.execute(uri: "/console/login", method: .get)
        let loginCookie = try #require(Self.cookieValue(Self.setCookies(loginPage)[ConsoleSessions.loginCookieName]))
        let loginCSRF = try #require(Self.hiddenCSRF(String(buffer: loginPage.body)))
        let response = try await client.execute(
            uri: "/console/login", method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", .cookie: "\(ConsoleSessions.loginCookieName)=\(loginCookie)"],
            body: Self.form(["token": token, "csrf": loginCSRF]))
        #expect(response.status == .seeOther && response.headers[.location] == "/console")
        let setCookie = try #require(Self.setCookies(response)[ConsoleSessions.cookieName])
        let cookie = try #require(Self.cookieValue(setCookie))
        let dashboard = try await client.execute(uri: "/console", method: .get, headers: [.cookie: "\(ConsoleSessions.cookieName)=\(cookie)"])
        return (cookie, try #require(Self.hiddenCSRF(String(buffer: dashboard.body))))
    }

    @Test func signingInSetsAnHttpOnlyStrictSessionCookieScopedToTheConsole() async throws {
        try await withRoutes(Self.backend()) { client in
            let unsigned = try await client.execute(uri: "/console", method: .get)
            #expect(unsigned.status == .seeOther && unsigned.headers[.location] == "/console/login")

            let loginPage = try await client.execute(uri: "/console/login", method: .get)
            let loginCookie = try #require(Self.setCookies(loginPage)[ConsoleSessions.loginCookieName])
            #expect(loginCookie.contains("HttpOnly") && loginCookie.contains("SameSite=Strict") && loginCookie.contains("Path=/console"))
            let csrf = try #require(Self.hiddenCSRF(String(buffer: loginPage.body)))
            let headers: HTTPFields = [
                .contentType: "application/x-www-form-urlencoded", .cookie: "\(ConsoleSessions.loginCookieName)=\(Self.cookieValue(loginCookie) ?? "")",
            ]
            let wrongToken = try await client.execute(uri: "/console/login", method: .post, headers: headers, body: Self.form(["token": "not-a-token-at-all", "csrf": csrf]))
            #expect(wrongToken.status == .unauthorized && Self.setCookies(wrongToken)[ConsoleSessions.cookieName] == nil)
            // A sign-in form posted from elsewhere has no token bound to the visitor's cookie.
            let forged = try await client.execute(
                uri: "/console/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: Self.form(["token": RouteTests.token]))
            #expect(forged.status == .forbidden && Self.setCookies(forged)[ConsoleSessions.cookieName] == nil)

            let signedIn = try await client.execute(uri: "/console/login", method: .post, headers: headers, body: Self.form(["token": RouteTests.token, "csrf": csrf]))
            let session = try #require(Self.setCookies(signedIn)[ConsoleSessions.cookieName])
            #expect(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Path=/console") && session.contains("Max-Age=28800"))
            #expect(session.contains("Secure"), "Secure unless http.secure_cookies turns it off")
            #expect(!session.contains(RouteTests.token), "the cookie does not carry the token")
            // A tampered cookie is no session.
            let value = try #require(Self.cookieValue(session))
            let tampered = String(value.dropLast()) + (value.hasSuffix("0") ? "1" : "0")
            let refused = try await client.execute(uri: "/console", method: .get, headers: [.cookie: "\(ConsoleSessions.cookieName)=\(tampered)"])
            #expect(refused.status == .seeOther)
        }
    }

    @Test func thePendingApprovalShowsItsConfigurationsAndNamesFromThePSAAreEscaped() async throws {
        try await withRoutes(Self.backend()) { client in
            let (cookie, _) = try await signIn(client)
            let page = try await client.execute(uri: "/console", method: .get, headers: [.cookie: "\(ConsoleSessions.cookieName)=\(cookie)"])
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            let html = String(buffer: page.body)
            #expect(!html.contains("<script"), "no script at all, and none from the PSA")
            #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Sons"))
            #expect(html.contains("&lt;b&gt;Server&lt;/b&gt;") && !html.contains("<b>Server"))
            #expect(html.contains("<td>91</td><td>Firewall</td><td>Firewall</td><td>Active</td>"), "each configuration with its type and status")
            #expect(html.contains("2099-01-01T00:00:00Z") && html.contains("approval required by the request"))
            #expect(html.contains(#"action="/console/approvals/approval-1""#))
        }
    }

    /// Where a notice's link leads: the one approval with its form, behind the sign-in; an
    /// approval no longer pending says so.
    @Test func anApprovalsOwnPageShowsItsFormBehindTheSignIn() async throws {
        try await withRoutes(Self.backend()) { client in
            let anonymous = try await client.execute(uri: "/console/approvals/approval-1", method: .get)
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/console/login?next=%2Fconsole%2Fapprovals%2Fapproval-1")
            let (cookie, _) = try await signIn(client)
            let page = try await client.execute(uri: "/console/approvals/approval-1", method: .get, headers: [.cookie: "\(ConsoleSessions.cookieName)=\(cookie)"])
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains(#"action="/console/approvals/approval-1""#) && html.contains("<td>91</td><td>Firewall</td>"))
            let gone = try await client.execute(uri: "/console/approvals/approval-2", method: .get, headers: [.cookie: "\(ConsoleSessions.cookieName)=\(cookie)"])
            #expect(gone.status == .notFound && String(buffer: gone.body).contains("is not pending"))
        }
    }

    @Test func aDecisionNeedsTheSessionsCSRFTokenAndThenReachesTheApprovalsTopic() async throws {
        let backend = Self.backend()
        try await withRoutes(backend) { client in
            let (cookie, csrf) = try await signIn(client)
            let headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: "\(ConsoleSessions.cookieName)=\(cookie)"]
            let fields = ["verdict": "approve", "approver": "Jane Doe", "comment": "Checked with billing"]
            let withoutToken = try await client.execute(uri: "/console/approvals/approval-1", method: .post, headers: headers, body: Self.form(fields))
            #expect(withoutToken.status == .forbidden)
            let otherSession = try await client.execute(
                uri: "/console/approvals/approval-1", method: .post, headers: headers, body: Self.form(fields.merging(["csrf": String(repeating: "a", count: 64)]) { $1 }))
            #expect(otherSession.status == .forbidden)
            let withoutSession = try await client.execute(
                uri: "/console/approvals/approval-1", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: Self.form(fields.merging(["csrf": csrf]) { $1 }))
            #expect(withoutSession.status == .unauthorized)
            #expect(backend.decisions.withLock { $0 }.isEmpty, "no decision from a refused form")

            let noName = try await client.execute(
                uri: "/console/approvals/approval-1", method: .post, headers: headers, body: Self.form(["verdict": "approve", "approver": " ", "csrf": csrf], deactivate: ["91"]))
            #expect(noName.status == .badRequest && String(buffer: noName.body).contains("approver is required"))

            let accepted = try await client.execute(
                uri: "/console/approvals/approval-1", method: .post, headers: headers, body: Self.form(fields.merging(["csrf": csrf]) { $1 }, deactivate: ["91", "92"]))
            #expect(accepted.status == .seeOther && accepted.headers[.location] == "/console/approvals/approval-1?done=approve")
            let decisions = backend.decisions.withLock { $0 }
            #expect(decisions.map(\.approvalID) == ["approval-1"] && decisions.first?.decision == .approve && decisions.first?.keep == nil)
            #expect(decisions.first?.approver == "Jane Doe" && decisions.first?.comment == "Checked with billing")
        }
    }

    @Test func theConsoleIsClosedWithoutAPITokens() async throws {
        try await withRoutes(Self.backend(), tokens: []) { client in
            #expect(try await client.execute(uri: "/console/login", method: .get).status == .forbidden)
            let attempt = try await client.execute(
                uri: "/console/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: Self.form(["token": ""]))
            #expect(attempt.status == .forbidden && Self.setCookies(attempt)[ConsoleSessions.cookieName] == nil)
        }
    }

    @Test func pendingApprovalsAndACSVOfTheConfigurationsAreInTheJSONAPI() async throws {
        try await withRoutes(Self.backend()) { client in
            let auth: HTTPFields = [.authorization: "Bearer \(RouteTests.token)"]
            let listed = try await client.execute(uri: "/v1/approvals?state=pending", method: .get, headers: auth)
            #expect(listed.status == .ok)
            let approvals = try #require(RouteTests.json(listed.body)["approvals"] as? [[String: Any]])
            #expect(approvals.map { $0["approval_id"] as? String } == ["approval-1"] && approvals.first?["client_name"] as? String == Self.hostileName)
            #expect(try await client.execute(uri: "/v1/approvals?state=approved", method: .get, headers: auth).status == .badRequest)
            #expect(try await client.execute(uri: "/v1/approvals?state=pending", method: .get).status == .unauthorized)

            let csv = try await client.execute(uri: "/v1/offboardings/event-1/configs.csv", method: .get, headers: auth)
            #expect(csv.status == .ok && csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.contentDisposition] == #"attachment; filename="event-1-configs.csv""#)
            #expect(csv.headers[.cacheControl] == "no-store" && csv.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            let lines = String(buffer: csv.body).components(separatedBy: "\r\n")
            #expect(lines[0] == "config_id,config_name,config_type,status,previous_status,action,psa_status,skip_reason")
            #expect(lines[1] == "91,Firewall,Firewall,active,active,pending_approval,Active,")
            // A name that a spreadsheet would run as a formula is written as text.
            #expect(lines[2] == #"92,"'=cmd()",<b>Server</b>,active,active,pending_approval,,"#)
        }
    }

    // MARK: The sign-in oracle, throttling and signing out

    /// The sign-in form's token is the random value of the pre-sign-in cookie, repeated: no MAC
    /// over anything public that a key derived from the tokens would make, so the page offers
    /// nothing to test token guesses against offline.
    @Test func theSignInFormsTokenIsARandomDoubleSubmitValue() async throws {
        try await withRoutes(Self.backend()) { client in
            var tokens: Set<String> = []
            for _ in 0..<2 {
                let page = try await client.execute(uri: "/console/login", method: .get)
                let cookie = try #require(Self.cookieValue(Self.setCookies(page)[ConsoleSessions.loginCookieName]))
                let csrf = try #require(Self.hiddenCSRF(String(buffer: page.body)))
                #expect(csrf == cookie, "the form repeats the cookie")
                #expect(csrf.count == 32)
                tokens.insert(csrf)
            }
            #expect(tokens.count == 2, "a new random value for each form")
            // A form whose token is not the cookie's is refused, however well-formed.
            let mismatched = try await client.execute(
                uri: "/console/login", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: "\(ConsoleSessions.loginCookieName)=\(String(repeating: "a", count: 32))"],
                body: Self.form(["token": RouteTests.token, "csrf": String(repeating: "b", count: 32)]))
            #expect(mismatched.status == .forbidden)
        }
    }

    /// The session key comes from a server secret and the tokens together: the same tokens under
    /// another secret make another key, so knowing the tokens' shape (or guessing them) signs nothing.
    @Test func theSessionKeyIsNotDerivedFromTheTokensAlone() throws {
        let tokens = [RouteTests.token]
        let one = ConsoleSessions(apiTokens: tokens, secret: Array(repeating: 1, count: 32))
        let other = ConsoleSessions(apiTokens: tokens, secret: Array(repeating: 2, count: 32))
        let session = try #require(one.newSession())
        #expect(one.session(fromCookie: session.cookie) != nil)
        #expect(other.session(fromCookie: session.cookie) == nil)
        #expect(one.csrfToken(for: session) != other.csrfToken(for: session))
        // The same secret and tokens on another replica accept it: sessions still work behind a Service.
        #expect(ConsoleSessions(apiTokens: tokens, secret: Array(repeating: 1, count: 32)).session(fromCookie: session.cookie) != nil)
        // Changing the tokens still ends every session.
        #expect(ConsoleSessions(apiTokens: tokens + ["another-token-0123456789"], secret: Array(repeating: 1, count: 32)).session(fromCookie: session.cookie) == nil)
    }

    @Test func failedSignInsAreThrottledPerAddress() async throws {
        try await withRoutes(Self.backend()) { client in
            func attempt(_ token: String) async throws -> TestResponse {
                let page = try await client.execute(uri: "/console/login", method: .get)
                let cookie = try #require(Self.cookieValue(Self.setCookies(page)[ConsoleSessions.loginCookieName]))
                return try await client.execute(
                    uri: "/console/login", method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded", .cookie: "\(ConsoleSessions.loginCookieName)=\(cookie)"],
                    body: Self.form(["token": token, "csrf": cookie]))
            }
            for guess in 0..<10 { #expect(try await attempt("wrong-guess-\(guess)-0123456789").status == .unauthorized) }
            let throttled = try await attempt(RouteTests.token)
            #expect(throttled.status == .tooManyRequests, "the right token too, while the address is throttled")
            let wait = try #require(throttled.headers[.retryAfter].flatMap(Int.init))
            #expect((1...60).contains(wait))
            #expect(Self.setCookies(throttled)[ConsoleSessions.cookieName] == nil)
        }
    }

    @Test func failedBearerTokensAreThrottledPerAddress() async throws {
        try await withRoutes(Self.backend()) { client in
            for guess in 0..<10 {
                let response = try await client.execute(uri: "/v1/approvals", method: .get, headers: [.authorization: "Bearer wrong-guess-\(guess)-0123456789"])
                #expect(response.status == .unauthorized)
            }
            let throttled = try await client.execute(uri: "/v1/approvals", method: .get, headers: [.authorization: "Bearer \(RouteTests.token)"])
            #expect(throttled.status == .tooManyRequests)
            #expect(throttled.headers[.retryAfter].flatMap(Int.init).map { (1...60).contains($0) } == true)
        }
    }

    @Test func theThrottleLetsAnAddressTryAgainOnceItsFailuresLeaveTheWindow() {
        let clock = Mutex(ContinuousClock.now)
        let throttle = FailedAuthThrottle(route: "test", configuration: .init(limit: 3, window: .seconds(60))) { clock.withLock { $0 } }
        for _ in 0..<3 { throttle.failed("10.0.0.1") }
        #expect(throttle.retryAfter("10.0.0.1") == .seconds(60))
        #expect(throttle.retryAfter("10.0.0.2") == nil, "another address is not held")
        clock.withLock { $0 += .seconds(59) }
        #expect(throttle.retryAfter("10.0.0.1") == .seconds(1))
        clock.withLock { $0 += .seconds(1) }
        #expect(throttle.retryAfter("10.0.0.1") == nil)
    }

    /// Signing out ends the session on the server: a copy of the cookie taken before is refused too.
    @Test func signingOutEndsTheSessionOnTheServer() async throws {
        let backend = Self.backend()
        try await withRoutes(backend) { client in
            let (cookie, csrf) = try await signIn(client)
            let headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: "\(ConsoleSessions.cookieName)=\(cookie)"]
            let out = try await client.execute(uri: "/console/logout", method: .post, headers: headers, body: Self.form(["csrf": csrf]))
            #expect(out.status == .seeOther && out.headers[.location] == "/console/login")
            #expect(backend.revokedSessions.withLock { $0.count } == 1)
            let copy = try await client.execute(uri: "/console", method: .get, headers: [.cookie: "\(ConsoleSessions.cookieName)=\(cookie)"])
            #expect(copy.status == .seeOther && copy.headers[.location] == "/console/login", "the copy taken before signing out is no session")
        }
    }

    // MARK: The reviewer's side

    /// Unticking a configuration keeps it: the decision carries it, the page shows the approval
    /// decided at once (by whom, running, what was kept) with no buttons, and a second decision is
    /// refused. Every box unticked is no approval.
    @Test func anUntickedConfigurationIsKeptAndTheApprovalShowsDecidedAtOnce() async throws {
        let backend = Self.backend()
        try await withRoutes(backend) { client in
            let (cookie, csrf) = try await signIn(client)
            let headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: "\(ConsoleSessions.cookieName)=\(cookie)"]
            let before = String(buffer: try await client.execute(uri: "/console/approvals/approval-1", method: .get, headers: headers).body)
            #expect(before.contains(#"name="deactivate[]" value="91" checked"#) && before.contains(#"name="deactivate[]" value="92" checked"#))

            let none = try await client.execute(
                uri: "/console/approvals/approval-1", method: .post, headers: headers, body: Self.form(["verdict": "approve", "approver": "Jane", "csrf": csrf]))
            #expect(none.status == .badRequest && String(buffer: none.body).contains("reject it instead"))

            let accepted = try await client.execute(
                uri: "/console/approvals/approval-1", method: .post, headers: headers,
                body: Self.form(["verdict": "approve", "approver": "Jane", "csrf": csrf], deactivate: ["91"]))
            #expect(accepted.status == .seeOther)
            #expect(backend.decisions.withLock { $0 }.first?.keep == ["92"])

            let after = String(buffer: try await client.execute(uri: "/console/approvals/approval-1?done=approve", method: .get, headers: headers).body)
            #expect(after.contains("<strong>Approved</strong> by Jane") && after.contains("the offboarding is running"), "\(after)")
            #expect(after.contains("Kept by the reviewer: =cmd() (92)"))
            #expect(!after.contains(#"value="approve""#) && !after.contains("deactivate[]"), "no buttons for a decided approval")
            let dashboard = String(buffer: try await client.execute(uri: "/console", method: .get, headers: headers).body)
            #expect(dashboard.contains("<strong>Approved</strong> by Jane") && !dashboard.contains(#"value="approve""#))

            let second = try await client.execute(
                uri: "/console/approvals/approval-1", method: .post, headers: headers,
                body: Self.form(["verdict": "reject", "approver": "Joe", "csrf": csrf], deactivate: ["91", "92"]))
            #expect(second.status == .conflict && String(buffer: second.body).contains("already approved by Jane"))
            #expect(backend.decisions.withLock { $0.count } == 1)
        }
    }

    /// Many pending approvals: newest first, counted, and filtered by client name or id.
    @Test func manyApprovalsAreListedNewestFirstAndFilteredByClient() async throws {
        func approval(_ n: Int, client: String, name: String) -> ApprovalRecord {
            ApprovalRecord(
                approvalID: "approval-\(n)", state: .pending, eventID: "event-\(n)", trigger: .event, psa: .connectwise, clientID: client, clientName: name,
                reason: nil, offboardedStatuses: ["Offboarded"], cause: .requested, requestedAt: "2026-12-0\(n)T10:00:00Z", expiresAt: "2099-01-01T00:00:00Z",
                configs: [.init(configID: "c\(n)", configName: "config \(n)")])
        }
        let approvals = [
            approval(1, client: "501", name: "Acme Corp"), approval(3, client: "503", name: "Globex"), approval(2, client: "502", name: "Acme Labs"),
        ]
        let backend = FakeBackend(.init(approvals: Dictionary(uniqueKeysWithValues: approvals.map { ($0.approvalID, $0) })))
        try await withRoutes(backend) { client in
            let (cookie, _) = try await signIn(client)
            let headers: HTTPFields = [.cookie: "\(ConsoleSessions.cookieName)=\(cookie)"]
            let all = String(buffer: try await client.execute(uri: "/console", method: .get, headers: headers).body)
            #expect(all.contains(#"Pending approvals (<span id="pending-count">3</span>)"#))
            let order = all.matches(of: /data-approval="(approval-\d)"/).map { String($0.1) }
            #expect(order == ["approval-3", "approval-2", "approval-1"], "newest first")
            let acme = String(buffer: try await client.execute(uri: "/console?client=acme", method: .get, headers: headers).body)
            #expect(acme.matches(of: /data-approval="(approval-\d)"/).map { String($0.1) } == ["approval-2", "approval-1"])
            #expect(acme.contains("2 of 3 match “acme”"))
            let spaced = String(buffer: try await client.execute(uri: "/console?client=acme+labs", method: .get, headers: headers).body)
            #expect(spaced.matches(of: /data-approval="(approval-\d)"/).map { String($0.1) } == ["approval-2"], "a form's + is a space")
            let byID = String(buffer: try await client.execute(uri: "/console?client=503", method: .get, headers: headers).body)
            #expect(byID.matches(of: /data-approval="(approval-\d)"/).map { String($0.1) } == ["approval-3"])
        }
    }

    /// A link from a notice survives the sign-in: the login carries the page to return to, and
    /// only a console path of this origin is followed.
    @Test func afterSignInTheReviewerReturnsToTheApprovalTheLinkNamed() async throws {
        try await withRoutes(Self.backend()) { client in
            let target = "/console/approvals/approval-1"
            for (next, expected) in [(target, target), ("https://evil.example/console/", "/console"), ("//evil.example/x", "/console"), ("/console/../x", "/console")] {
                let encoded = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                let loginPage = try await client.execute(uri: "/console/login?next=\(encoded)", method: .get)
                let loginCookie = try #require(Self.cookieValue(Self.setCookies(loginPage)[ConsoleSessions.loginCookieName]))
                let html = String(buffer: loginPage.body)
                let loginCSRF = try #require(Self.hiddenCSRF(html))
                #expect(html.contains(#"name="next""#) == (ConsoleRoutes.returnPath(next) != nil), "\(next)")
                let response = try await client.execute(
                    uri: "/console/login", method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded", .cookie: "\(ConsoleSessions.loginCookieName)=\(loginCookie)"],
                    body: Self.form(["token": RouteTests.token, "csrf": loginCSRF, "next": next]))
                #expect(response.status == .seeOther && response.headers[.location] == expected, "\(next)")
            }
        }
    }
}
