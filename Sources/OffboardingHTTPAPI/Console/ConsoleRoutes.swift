import Foundation
import Hummingbird
import Logging
import OffboardingCore

/// `/console`: the review console. A person signs in with one of the API tokens and gets a
/// session cookie (HttpOnly, SameSite=Strict, Secure unless turned off, scoped to `/console`);
/// every form carries the session's CSRF token; decisions go through the same checks as
/// `POST /v1/approvals/{id}`. Failed sign-ins are throttled per address; signing out ends the
/// session on every replica, not only in the browser.
struct ConsoleRoutes: Sendable {
    let backend: any OffboardingBackend
    let sessions: ConsoleSessions
    let throttle: FailedAuthThrottle
    let secureCookies: Bool
    let logger: Logger

    /// How many recent results the console lists.
    static let recentResults = 50
    /// A form's body, at most: a decision lists the ticked configurations of its approval.
    static let formLimit = 1 << 20

    func register(on router: Router<OffboardingRequestContext>) {
        router.get("console") { request, _ in self.dashboard(request) }
        router.get("console/login") { request, _ in self.loginPage(request, error: nil) }
        router.post("console/login") { request, context in try await self.login(request, from: context.clientAddress) }
        router.post("console/logout") { request, _ in try await self.logout(request) }
        router.get("console/approvals/:approval_id") { request, context in self.approval(request, approvalID: context.parameters.get("approval_id") ?? "") }
        router.post("console/approvals/:approval_id") { request, context in
            try await self.decide(request, approvalID: context.parameters.get("approval_id") ?? "")
        }
        router.get("console/offboardings/:event_id") { request, context in self.result(request, eventID: context.parameters.get("event_id") ?? "") }
        router.get("console/offboardings/:event_id/configs.csv") { request, context in
            self.csv(request, eventID: context.parameters.get("event_id") ?? "")
        }
    }

    // MARK: Pages

    func dashboard(_ request: Request) -> Response {
        guard let session = session(of: request) else { return Self.redirect("/console/login") }
        guard let pending = backend.pendingApprovals(), let recent = backend.recentResults(limit: Self.recentResults) else {
            return notReady(session, "the approvals and results topics")
        }
        let filter = String(((try? URLEncodedFormDecoder().decode(FilterForm.self, from: request.uri.query ?? ""))?.client ?? "").prefix(200))
        let results = recent.compactMap { try? ResultEncoding.decode($0) }
        let context = ConsolePages.dashboard(
            pending: ConsolePages.arrange(pending, filter: filter), total: pending.count, filter: filter, decisions: backend.decision(on:),
            results: results, latest: latestResult, notice: nil, error: nil, csrf: sessions.csrfToken(for: session))
        return page(.ok, "Review", session: session, template: "dashboard", context)
    }

    /// The dashboard's filter, a GET form: its query is form-encoded (`+` is a space).
    private struct FilterForm: Decodable {
        var client: String?
    }

    /// One approval, as the dashboard shows it: where a notice's link leads, and where a decision
    /// returns to, showing it decided at once.
    func approval(_ request: Request, approvalID: String) -> Response {
        guard let session = session(of: request) else {
            return Self.redirect("/console/login?next=" + ConsolePages.pathComponent("/console/approvals/" + ConsolePages.pathComponent(approvalID)))
        }
        guard let pending = backend.pendingApprovals() else { return notReady(session, "the approvals topic") }
        guard let approval = pending.first(where: { $0.approvalID == approvalID }) else {
            if let known = backend.approval(approvalID) {
                return page(
                    .ok, "Decided", session: session, template: "message",
                    [
                        "info": "Approval \(approvalID) is \(known.state.rawValue)\(known.decision.map { " by \($0.approver)" } ?? "").",
                        "resultPath": ConsolePages.pathComponent(known.eventID),
                    ])
            }
            return page(
                .notFound, "Not pending", session: session, template: "message",
                ["error": "Approval \(approvalID) is not pending: it was decided, it expired, or this replica does not know it. The dashboard lists the latest results."])
        }
        let notice: String? =
            switch request.uri.queryParameters["done"].map(String.init) {
            case "approve"?: "Approved. The offboarding runs on the replica that owns the approval; its result replaces this approval."
            case "reject"?: "Rejected. Nothing is changed in the PSA; the result records the decision."
            default: nil
            }
        let context = ConsolePages.dashboard(
            pending: [approval], total: pending.count, filter: "", decisions: backend.decision(on:), results: [], latest: latestResult, notice: notice,
            error: nil, csrf: sessions.csrfToken(for: session))
        return page(.ok, "Approval", session: session, template: "dashboard", context)
    }

    /// 503 while the replica has not read what the page shows.
    private func notReady(_ session: ConsoleSessions.Session, _ what: String) -> Response {
        page(
            .serviceUnavailable, "Not ready", session: session, template: "message",
            ["error": "The service has not read \(what) yet. Reload in a few seconds."], headers: [.retryAfter: "5"])
    }

    func result(_ request: Request, eventID: String) -> Response {
        guard let session = session(of: request) else { return Self.redirect("/console/login") }
        guard let result = latestResult(eventID) else {
            return page(.notFound, "Not found", session: session, template: "message", ["error": "No result of event \(eventID) is held by this replica."])
        }
        return page(.ok, "Offboarding \(eventID)", session: session, template: "result", ConsolePages.result(result))
    }

    func csv(_ request: Request, eventID: String) -> Response {
        guard session(of: request) != nil else { return Self.redirect("/console/login") }
        return OffboardingRoutes(backend: backend, logger: logger).csv(eventID)
    }

    // MARK: Sign-in

    func loginPage(
        _ request: Request, error: String?, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], next: String? = nil
    ) -> Response {
        guard sessions.isOpen else {
            return page(.forbidden, "Closed", session: nil, template: "message", ["error": "The console is closed: no http.api_tokens are configured."])
        }
        let token = ConsoleSessions.randomNonce()
        var context: [String: Any] = ["csrf": token]
        if let next = Self.returnPath(next ?? request.uri.queryParameters["next"].map(String.init)) { context["next"] = next }
        if let error { context["error"] = error }
        var response = page(status, "Sign in", session: nil, template: "login", context, headers: headers)
        response.setCookie(cookie(ConsoleSessions.loginCookieName, token, maxAge: Int(ConsoleSessions.loginLifetime)))
        return response
    }

    private struct LoginForm: Decodable {
        var token: String?
        var csrf: String?
        var next: String?
    }

    /// Where a sign-in returns to: a console page of this origin only (never `//host` or a scheme),
    /// so that the parameter cannot send a signed-in person elsewhere.
    static func returnPath(_ path: String?) -> String? {
        guard let path, path.hasPrefix("/console/"), path.utf8.count <= 1024,
            !path.contains("//"), !path.contains("\\"), !path.contains(".."), !path.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F })
        else { return nil }
        return path
    }

    func login(_ request: Request, from address: String) async throws -> Response {
        if let wait = throttle.retryAfter(address) {
            return loginPage(
                request, error: "Too many failed sign-ins from your address. Try again in \(FailedAuthThrottle.seconds(wait)) seconds.",
                status: .tooManyRequests, headers: [.retryAfter: FailedAuthThrottle.seconds(wait)])
        }
        guard let form: LoginForm = try await Self.form(request) else { return loginPage(request, error: "The form could not be read.", status: .badRequest) }
        guard sessions.checksLoginCSRF(form.csrf, cookie: request.cookies[ConsoleSessions.loginCookieName]?.value) else {
            return loginPage(request, error: "The sign-in form had expired or did not come from this console. Try again.", status: .forbidden, next: form.next)
        }
        guard let token = form.token, sessions.accepts(token: token), let session = sessions.newSession() else {
            throttle.failed(address)
            logger.notice("console sign-in refused")
            return loginPage(request, error: "That token is not one of the service's API tokens.", status: .unauthorized, next: form.next)
        }
        logger.info("console sign-in")
        var response = Self.redirect(Self.returnPath(form.next) ?? "/console")
        response.setCookie(cookie(ConsoleSessions.cookieName, session.cookie, maxAge: Int(ConsoleSessions.lifetime)))
        response.setCookie(cookie(ConsoleSessions.loginCookieName, "", maxAge: 0))
        return response
    }

    private struct CSRFForm: Decodable {
        var csrf: String?
    }

    func logout(_ request: Request) async throws -> Response {
        if let session = session(of: request) {
            let form: CSRFForm? = try await Self.form(request)
            guard sessions.checksCSRF(form?.csrf, for: session) else { return forbidden(session) }
            // Ended on the server, for every replica: a copy of the cookie taken before is no good either.
            do {
                try await backend.revokeSession(session.nonce, until: Date(timeIntervalSince1970: Double(session.expiry)))
            } catch {
                logger.error("console sign-out not recorded", metadata: ["kafka.error": "\(error)"])
                return page(
                    .serviceUnavailable, "Not signed out", session: session, template: "message",
                    ["error": "The sign-out could not be recorded, so the session is still valid. Try again."])
            }
            logger.info("console sign-out")
        }
        var response = Self.redirect("/console/login")
        response.setCookie(cookie(ConsoleSessions.cookieName, "", maxAge: 0))
        return response
    }

    // MARK: Decisions

    private struct DecisionForm: Decodable {
        var csrf: String?
        var verdict: String?
        var approver: String?
        var comment: String?
        /// The configurations left ticked: the ones to deactivate. An unticked one is kept.
        var deactivate: [String]?
    }

    func decide(_ request: Request, approvalID: String) async throws -> Response {
        guard let session = session(of: request) else {
            return page(.unauthorized, "Signed out", session: nil, template: "message", ["error": "Your session has ended: sign in again; nothing was decided."])
        }
        let form: DecisionForm? = try await Self.form(request)
        guard sessions.checksCSRF(form?.csrf, for: session) else { return forbidden(session) }
        guard let form, let verdict = form.verdict.flatMap(ApprovalDecision.Verdict.init(rawValue:)) else {
            return page(.badRequest, "Not decided", session: session, template: "message", ["error": "Choose Approve or Reject."])
        }
        let comment = form.comment.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        // What is not ticked is kept; every box unticked sends no field at all, and keeps everything.
        var keep: [String] = []
        if verdict == .approve, let approval = backend.approval(approvalID) {
            let ticked = Set(form.deactivate ?? [])
            keep = approval.configs.map(\.configID).filter { !ticked.contains($0) }
        }
        let outcome = await ApprovalDecisions(backend: backend, logger: logger).decide(
            approvalID: approvalID, verdict: verdict, approver: form.approver ?? "", comment: comment, keep: keep)
        let (status, message): (HTTPResponse.Status, String)
        switch outcome {
        case .accepted:
            return Self.redirect("/console/approvals/\(ConsolePages.pathComponent(approvalID))?done=\(verdict.rawValue)")
        case .invalid(let problem): (status, message) = (.badRequest, "Not decided: \(problem).")
        case .notFound: (status, message) = (.notFound, "There is no approval \(approvalID).")
        case .alreadyDecided(let state): (status, message) = (.conflict, "Approval \(approvalID) is already \(state.rawValue).")
        case .decisionTaken(let decision):
            (status, message) = (.conflict, "Approval \(approvalID) was already \(decision.decision == .approve ? "approved" : "rejected") by \(decision.approver).")
        case .expired(let at): (status, message) = (.gone, "Approval \(approvalID) expired at \(at).")
        case .kafkaUnavailable: (status, message) = (.serviceUnavailable, "The decision could not be written to Kafka. Try again.")
        }
        return page(status, "Not decided", session: session, template: "message", ["error": message])
    }

    // MARK: Helpers

    private func session(of request: Request) -> ConsoleSessions.Session? {
        guard let session = sessions.session(fromCookie: request.cookies[ConsoleSessions.cookieName]?.value), !backend.isSessionRevoked(session.nonce) else {
            return nil
        }
        return session
    }

    private func latestResult(_ eventID: String) -> OffboardingResult? {
        guard case .found(let bytes) = backend.latestResult(for: eventID) else { return nil }
        return try? ResultEncoding.decode(bytes)
    }

    private func forbidden(_ session: ConsoleSessions.Session) -> Response {
        page(
            .forbidden, "Refused", session: session, template: "message",
            ["error": "The form had expired or did not come from this console (its CSRF token is missing or wrong). Nothing was changed."])
    }

    private func page(
        _ status: HTTPResponse.Status, _ title: String, session: ConsoleSessions.Session?, template: String, _ context: [String: Any],
        headers: HTTPFields = [:]
    ) -> Response {
        ConsolePages.html(
            status, title: title, psa: backend.psa, csrf: session.map(sessions.csrfToken(for:)), template: template, context, headers: headers)
    }

    private static func form<Form: Decodable>(_ request: Request) async throws -> Form? {
        let buffer = try await request.body.collect(upTo: formLimit)
        return try? URLEncodedFormDecoder().decode(Form.self, from: String(buffer: buffer))
    }

    private static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/console", secure: secureCookies, httpOnly: true, sameSite: .strict)
    }
}
