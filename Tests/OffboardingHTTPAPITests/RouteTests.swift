import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import OffboardingCore
import Testing

@testable import OffboardingHTTPAPI

/// Each route's answers against a fake backend, through Hummingbird's in-memory router client: what
/// a route decides (status, error code, what it submits) without Kafka, a PSA or a socket.
@Suite struct RouteTests {
    static let token = "route-test-token-0123456789"

    func withRoutes(_ backend: FakeBackend, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var configuration = OffboardingHTTPServer.Configuration(host: "127.0.0.1", port: 0, apiTokens: [Self.token])
        configuration.webhook = HaloWebhook.Settings(username: "halo-hook", password: "halo-hook-password")
        let router = OffboardingHTTPServer.router(configuration: configuration, backend: backend, httpClient: .shared, logger: Logger(label: "route-tests"))
        try await Application(router: router).test(.router, body)
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]) ?? [:]
    }

    static func code(_ buffer: ByteBuffer) -> String? { (json(buffer)["error"] as? [String: Any])?["code"] as? String }

    static let plan = RestorePlan(
        eventID: "e-1", psa: .connectwise, clientID: "12345", clientName: "Example Client", reason: nil,
        configs: [.init(configID: "1", configName: "a", previous: .init(active: true)), .init(configID: "2", configName: "b", previous: .init(active: true))])

    func restore(_ client: any TestClientProtocol, _ eventID: String = "e-1", body: String = "", token: String? = RouteTests.token) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: "/v1/offboardings/\(eventID)/restore", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    @Test func aRestoreWithSomethingToUndoPutsOneRestoreEventOnTheTopic() async throws {
        let backend = FakeBackend(.init(restorePlan: .success(Self.plan)))
        try await withRoutes(backend) { client in
            let response = try await restore(client, body: #"{"dry_run": true, "reason": "Back", "requested_by": "jane"}"#)
            #expect(response.status == .accepted)
            let json = Self.json(response.body)
            #expect(json["restores"] as? String == "e-1" && json["client_id"] as? String == "12345" && json["configs"] as? Int == 2)
            let events = backend.events.withLock { $0 }
            #expect(events.count == 1)
            let event = try #require(events.first)
            #expect(event.id == json["event_id"] as? String && response.headers[.location] == "/v1/offboardings/\(event.id)")
            #expect(event.trigger == .restore && event.restores == "e-1" && event.requestedBy == "jane" && event.companyID == "12345")
            #expect(event.options.dryRun == true && event.options.reason == "Back")
        }
    }

    @Test func anEmptyBodyAsksForARealRestore() async throws {
        let backend = FakeBackend(.init(restorePlan: .success(Self.plan)))
        try await withRoutes(backend) { client in
            let response = try await restore(client)
            #expect(response.status == .accepted)
            #expect(backend.events.withLock { $0.first?.options.dryRun } == nil, "the configured default decides, not a preview")
        }
    }

    @Test(arguments: [
        (RestoreRefusal(.unknown, "no result"), 404, "NotFound"),
        (RestoreRefusal(.notRestorable, "event e-1 was a dry run; it changed nothing to restore"), 409, "NotRestorable"),
    ])
    func whatCannotBeRestoredIsRefusedAndNothingIsQueued(refusal: RestoreRefusal, status: Int, code: String) async throws {
        let backend = FakeBackend(.init(restorePlan: .failure(refusal)))
        try await withRoutes(backend) { client in
            let response = try await restore(client)
            #expect(Int(response.status.code) == status && Self.code(response.body) == code)
            #expect(((Self.json(response.body)["error"] as? [String: Any])?["message"] as? String) == refusal.message)
            #expect(backend.events.withLock { $0 }.isEmpty)
        }
    }

    @Test func anUnreadableResultsTopicOrKafkaDownIs503AndQueuesNothing() async throws {
        struct Unreadable: Error {}
        let unreadable = FakeBackend(.init(restorePlan: .failure(Unreadable())))
        try await withRoutes(unreadable) { client in
            let response = try await restore(client)
            #expect(response.status == .serviceUnavailable && Self.code(response.body) == "KafkaUnavailable")
        }
        let down = FakeBackend(.init(restorePlan: .success(Self.plan), kafkaDown: true))
        try await withRoutes(down) { client in
            let response = try await restore(client)
            #expect(response.status == .serviceUnavailable)
            #expect(down.events.withLock { $0 }.isEmpty)
        }
        let gone = FakeBackend(.init(company: .failure(PSAError(code: .clientNotFound, message: "ConnectWise has no company 12345")), restorePlan: .success(Self.plan)))
        try await withRoutes(gone) { client in
            let response = try await restore(client)
            #expect(response.status == .unprocessableContent && Self.code(response.body) == "ClientNotFound")
        }
    }

    @Test(arguments: [
        (#"{"dry_run": "yes"}"#, "dry_run must be true or false"),
        (#"{"requested_by": ""}"#, "requested_by must be a non-empty string of at most 256 bytes"),
        (#"{"reason": 7}"#, "reason must be a string of at most 4096 bytes"),
        (#"{"dryrun": true}"#, "dryrun is not a known field"),
        (#"[]"#, "the body is an array, not an object"),
    ])
    func aBadBodyIsNamedAndQueuesNothing(body: String, message: String) async throws {
        let backend = FakeBackend(.init(restorePlan: .success(Self.plan)))
        try await withRoutes(backend) { client in
            let response = try await restore(client, body: body)
            #expect(response.status == .badRequest && Self.code(response.body) == "InvalidRequest")
            #expect(((Self.json(response.body)["error"] as? [String: Any])?["message"] as? String) == message)
            #expect(backend.events.withLock { $0 }.isEmpty)
        }
    }

    @Test func withoutTheTokenNothingIsAskedOrQueued() async throws {
        let backend = FakeBackend(.init(restorePlan: .success(Self.plan)))
        try await withRoutes(backend) { client in
            let missing = try await restore(client, token: nil)
            let wrong = try await restore(client, token: "route-test-token-0123456788")
            #expect(missing.status == .unauthorized && wrong.status == .unauthorized)
            #expect(backend.events.withLock { $0 }.isEmpty)
        }
    }

    /// The README's promise: a verified webhook whose company cannot be re-read gets 503 (the PSA
    /// will deliver it again), with the contract's code and no event.
    @Test func aWebhookWhoseCompanyCannotBeReReadIs503AndQueuesNothing() async throws {
        let backend = FakeBackend(.init(company: .failure(PSAError(code: .psaConnectionError, message: "HaloPSA did not answer", isRetriable: true))))
        try await withRoutes(backend) { client in
            // Without the client's `inactive` flag, so the service must re-read the client.
            let body = #"{"id": "d-1", "webhook_id": "w", "event": "Client Updated", "object_id": 12, "timestamp": "2026-11-22T06:41:08Z"}"#
            let basic = "Basic " + Data("halo-hook:halo-hook-password".utf8).base64EncodedString()
            let response = try await client.execute(
                uri: "/webhooks/halopsa", method: .post, headers: [.authorization: basic, .contentType: "application/json"], body: ByteBuffer(string: body))
            #expect(response.status == .serviceUnavailable && Self.code(response.body) == "PSAConnectionError")
            #expect(backend.events.withLock { $0 }.isEmpty)
        }
    }

    /// The README's promise: `/health/ready` answers 503 naming the failed check, without a token.
    @Test func readinessNamesTheFailedCheck() async throws {
        let backend = FakeBackend(
            .init(readiness: ["kafka": HealthCheck(ok: true, detail: "ok"), "psa": HealthCheck(ok: false, detail: "halopsa probe failed: PSAConnectionError")]))
        try await withRoutes(backend) { client in
            let response = try await client.execute(uri: "/health/ready", method: .get)
            #expect(response.status == .serviceUnavailable)
            let json = Self.json(response.body)
            #expect(json["status"] as? String == "not_ready")
            let checks = try #require(json["checks"] as? [String: [String: Any]])
            #expect(checks["psa"]?["ok"] as? Bool == false && checks["kafka"]?["ok"] as? Bool == true)
        }
    }

    @Test func metricsAreServedWithoutATokenInPrometheusTextFormat() async throws {
        try await withRoutes(FakeBackend()) { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok && response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(String(buffer: response.body).contains(#"psa_offboarder_records_total{outcome="received"} 3"#))
        }
    }

    @Test func theLatestResultIsServedOnceTheResultsTopicWasRead() async throws {
        for (held, status) in [(HeldResult.notReady, HTTPResponse.Status.serviceUnavailable), (.none, .notFound), (.found(Array(#"{"success":true}"#.utf8)), .ok)] {
            let backend = FakeBackend(.init(result: held))
            try await withRoutes(backend) { client in
                let response = try await client.execute(uri: "/v1/offboardings/e-1", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
                #expect(response.status == status)
                if status == .serviceUnavailable { #expect(response.headers[.retryAfter] == "5") }
            }
        }
    }

    @Test func anApprovalIsDecidedOnceAndNotAfterItExpired() async throws {
        func approval(state: ApprovalState, expiresAt: String) -> ApprovalRecord {
            ApprovalRecord(
                approvalID: "approval-e", state: state, eventID: "e", trigger: .api, psa: .connectwise, clientID: "1", clientName: "A", reason: nil,
                offboardedStatuses: ["Offboarded"], cause: .requested, requestedAt: "2026-01-22T10:30:00Z", expiresAt: expiresAt, configs: [])
        }
        let decision = #"{"decision": "approve", "approver": "jane"}"#
        let cases: [(ApprovalRecord?, HTTPResponse.Status, Int)] = [
            (nil, .notFound, 0), (approval(state: .approved, expiresAt: "2099-01-01T00:00:00Z"), .conflict, 0),
            (approval(state: .pending, expiresAt: "2020-01-01T00:00:00Z"), .gone, 0), (approval(state: .pending, expiresAt: "2099-01-01T00:00:00Z"), .accepted, 1),
        ]
        for (record, status, submitted) in cases {
            let backend = FakeBackend(.init(approvals: record.map { ["approval-e": $0] } ?? [:]))
            try await withRoutes(backend) { client in
                let response = try await client.execute(
                    uri: "/v1/approvals/approval-e", method: .post, headers: [.authorization: "Bearer \(Self.token)", .contentType: "application/json"],
                    body: ByteBuffer(string: decision))
                #expect(response.status == status)
                #expect(backend.decisions.withLock { $0.count } == submitted)
            }
        }
    }

    /// The JSON route takes the reviewer's subset as the console does: `keep` names configurations
    /// of the approval, only with approve, never all of them; a second decision before the run
    /// finishes is refused.
    @Test func anApprovalMayKeepSomeOfItsConfigurations() async throws {
        let record = ApprovalRecord(
            approvalID: "approval-k", state: .pending, eventID: "k", trigger: .api, psa: .connectwise, clientID: "1", clientName: "A", reason: nil,
            offboardedStatuses: ["Offboarded"], cause: .requested, requestedAt: "2026-01-22T10:30:00Z", expiresAt: "2099-01-01T00:00:00Z",
            configs: [.init(configID: "1", configName: "one"), .init(configID: "2", configName: "two"), .init(configID: "3", configName: "three")])
        let backend = FakeBackend(.init(approvals: ["approval-k": record]))
        try await withRoutes(backend) { client in
            func decide(_ body: String) async throws -> (HTTPResponse.Status, String) {
                let response = try await client.execute(
                    uri: "/v1/approvals/approval-k", method: .post, headers: [.authorization: "Bearer \(Self.token)", .contentType: "application/json"],
                    body: ByteBuffer(string: body))
                return (response.status, String(buffer: response.body))
            }
            let refusals = [
                (#"{"decision":"approve","approver":"jane","keep":["9"]}"#, "configuration 9 in keep is not one of the approval's configurations"),
                (#"{"decision":"reject","approver":"jane","keep":["1"]}"#, "keep is only for approve"),
                (#"{"decision":"approve","approver":"jane","keep":["1","2","3"]}"#, "reject it instead"),
                (#"{"decision":"approve","approver":"jane","keep":[1]}"#, "keep must be a list of configuration ids"),
                (#"{"decision":"approve","approver":"jane","keep":"1"}"#, "keep must be a list of configuration ids"),
            ]
            for (body, message) in refusals {
                let (status, text) = try await decide(body)
                #expect(status == .badRequest && text.contains(message), "\(body): \(text)")
            }
            #expect(backend.decisions.withLock { $0 }.isEmpty)
            let (status, _) = try await decide(#"{"decision":"approve","approver":"jane","keep":["3","1"]}"#)
            #expect(status == .accepted)
            #expect(backend.decisions.withLock { $0 }.first?.keep == ["1", "3"], "kept in the approval's order")
            let (again, text) = try await decide(#"{"decision":"reject","approver":"joe"}"#)
            #expect(again == .conflict && text.contains("was approved by jane"), "\(text)")
        }
    }
}
