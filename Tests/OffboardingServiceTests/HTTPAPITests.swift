import AsyncHTTPClient
import Foundation
import NIOHTTP1
import OffboardingCore
import OffboardingKafka
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// The HTTP API of the running service: real requests to its server, real records on its topics.
@Suite struct HTTPAPITests {
    @Test(arguments: PSAKind.allCases)
    func anAPIOffboardingPutsAnEventOnTheTopicAndServesItsResult(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(active: 4, inactive: 1)
        let response = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/offboardings", body: APIClient.json(["client_id": String(client.id), "reason": "Contract ended"]))
        #expect(response.status == 202)
        let eventID = try #require(response.json["event_id"] as? String)
        #expect(response.json["client_id"] as? String == String(client.id))

        let result = try await APIClient.result(harness, eventID: eventID)
        #expect(result.trigger == .api)
        #expect(result.reason == "Contract ended")
        #expect(result.statistics.configsDeactivated == 4)
        // The inactive one is not listed without include_archived.
        #expect(result.statistics.configsFound == 4)
        for id in client.configurations.prefix(4) { #expect(await harness.tenant.isConfigurationActive(id) == false) }
        // The event on the topic carries the trigger as a CloudEvents extension attribute.
        _ = try await harness.events.wait(timeout: .seconds(10), for: "the API event") { _ in !harness.eventRecords(withID: eventID).isEmpty }
        let event = try #require(harness.eventRecords(forClient: client.id).first { $0.id == eventID })
        #expect(event.trigger == .api)
    }

    @Test func anAPIOffboardingByNameOfAnActiveClientGetsAResultThatChangesNothing() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(offboarded: false, active: 2)
        let response = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/offboardings", body: APIClient.json(["client_name": "Client \(client.id)"]))
        #expect(response.status == 202)
        let eventID = try #require(response.json["event_id"] as? String)
        // A request is never filtered away: it gets a result, with the reason nothing changed.
        let result = try await APIClient.result(harness, eventID: eventID)
        #expect(result.warnings.map(\.code) == [.clientNotOffboarded])
        #expect(result.statistics.configsDeactivated == 0)
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
    }

    /// Without `http.api_tokens` the API is closed, not open: every token is refused, while the
    /// health routes still answer.
    @Test func withoutTokensTheAPIIsClosed() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { configuration in
            configuration.http?.apiTokens = []
        }
        do {
            let client = await harness.makeClient(active: 1)
            for token in [nil, PipelineHarness.apiToken, "", "Bearer"] {
                let post = try await APIClient.call(
                    .POST, "\(harness.apiBaseURL)/v1/offboardings", token: token, body: APIClient.json(["client_id": String(client.id)]))
                #expect(post.status == 401 && post.errorCode == "Unauthorized", "\(String(describing: token)): \(post.status)")
            }
            #expect(try await APIClient.call(.GET, "\(harness.apiBaseURL)/health/live", token: nil).status == 200)
            try await harness.stop()
        } catch {
            try? await harness.stop()
            throw error
        }
    }

    @Test func theAPINeedsAValidBearerToken() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(active: 1)
        let body = APIClient.json(["client_id": String(client.id)])
        let before = harness.eventRecords(forClient: client.id).count
        for token in [nil, "wrong-token-0123456789", PipelineHarness.apiToken + "x", String(PipelineHarness.apiToken.dropLast())] {
            let post = try await APIClient.call(.POST, "\(harness.apiBaseURL)/v1/offboardings", token: token, body: body)
            #expect(post.status == 401)
            #expect(post.errorCode == "Unauthorized")
            let get = try await APIClient.call(.GET, "\(harness.apiBaseURL)/v1/offboardings/anything", token: token)
            #expect(get.status == 401)
            let approve = try await APIClient.call(
                .POST, "\(harness.apiBaseURL)/v1/approvals/anything", token: token, body: APIClient.json(["decision": "approve", "approver": "x"]))
            #expect(approve.status == 401)
        }
        let basic = try await APIClient.call(
            .GET, "\(harness.apiBaseURL)/v1/offboardings/anything", token: nil, headers: [("Authorization", "Basic dXNlcjpwYXNz")])
        #expect(basic.status == 401)
        let known = try await APIClient.call(.GET, "\(harness.apiBaseURL)/v1/offboardings/no-such-event")
        #expect(known.status == 404)
        // Nothing refused reached the events topic.
        #expect(try await harness.settledEvents(forClient: client.id).count == before)
    }

    @Test func badRequestsGetAClearErrorAndQueueNothing() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(active: 1)
        let url = "\(harness.apiBaseURL)/v1/offboardings"
        let cases: [([UInt8], Int, String)] = [
            (Array("{not json".utf8), 400, "not JSON"),
            (APIClient.json([String(client.id)]), 400, "not an object"),
            (APIClient.json([:]), 400, "client_id or client_name is required"),
            (APIClient.json(["client_id": String(client.id), "client_name": "x"]), 400, "not both"),
            (APIClient.json(["client_id": String(client.id), "dry_run": "yes"]), 400, "dry_run is a string, not a boolean"),
            (APIClient.json(["client_id": String(client.id), "dryrun": true]), 400, "dryrun is not a known field"),
            (APIClient.json(["client_id": String(client.id), "offboarded_statuses": []]), 400, "offboarded_statuses is empty"),
            (APIClient.json(["client_id": "999999"]), 422, "no company 999999"),
        ]
        for (body, status, message) in cases {
            let response = try await APIClient.call(.POST, url, body: body)
            #expect(response.status == status, "\(String(decoding: body, as: UTF8.self))")
            let text = ((response.json["error"] as? [String: Any])?["message"] as? String) ?? ""
            #expect(text.contains(message), "\(text)")
        }
        #expect(try await harness.settledEvents(forClient: client.id).isEmpty)
    }

    @Test func healthProbesAnswerWithoutAToken() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let live = try await APIClient.call(.GET, "\(harness.apiBaseURL)/health/live", token: nil)
        #expect(live.status == 200)
        #expect(live.json["status"] as? String == "live")
        var ready = try await APIClient.call(.GET, "\(harness.apiBaseURL)/health/ready", token: nil)
        let deadline = ContinuousClock.now + .seconds(30)
        while ready.status != 200, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            ready = try await APIClient.call(.GET, "\(harness.apiBaseURL)/health/ready", token: nil)
        }
        #expect(ready.status == 200)
        let checks = try #require(ready.json["checks"] as? [String: [String: Any]])
        #expect(Set(checks.keys) == ["kafka", "psa", "consumer"])
        #expect(checks.values.allSatisfy { $0["ok"] as? Bool == true })
    }

    @Test func theRunningServerAnswersAsOpenAPIYAMLDescribes() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let openAPI = try OpenAPIDocument()
        let client = await harness.makeClient(active: 2)
        let base = harness.apiBaseURL
        var problems: [String] = []
        func check(_ path: String, _ method: HTTPMethod, _ response: APIResponse) {
            problems += openAPI.problems(path: path, method: method.rawValue, response: response)
        }
        let accepted = try await APIClient.call(.POST, "\(base)/v1/offboardings", body: APIClient.json(["client_id": client.id, "require_approval": true]))
        check("/v1/offboardings", .POST, accepted)
        check("/v1/offboardings", .POST, try await APIClient.call(.POST, "\(base)/v1/offboardings", body: APIClient.json(["x": 1])))
        check("/v1/offboardings", .POST, try await APIClient.call(.POST, "\(base)/v1/offboardings", token: nil, body: APIClient.json([:])))
        check("/v1/offboardings", .POST, try await APIClient.call(.POST, "\(base)/v1/offboardings", body: APIClient.json(["client_id": 999_999])))
        let eventID = try #require(accepted.json["event_id"] as? String)
        let pending = try await APIClient.result(harness, eventID: eventID)
        check("/v1/offboardings/{event_id}", .GET, try await APIClient.call(.GET, "\(base)/v1/offboardings/\(eventID)"))
        check("/v1/offboardings/{event_id}", .GET, try await APIClient.call(.GET, "\(base)/v1/offboardings/none"))
        let approvalID = try #require(pending.approval?.id)
        let listed = try await APIClient.call(.GET, "\(base)/v1/approvals?state=pending")
        check("/v1/approvals", .GET, listed)
        #expect((listed.json["approvals"] as? [[String: Any]])?.contains { $0["approval_id"] as? String == approvalID } == true)
        check("/v1/approvals", .GET, try await APIClient.call(.GET, "\(base)/v1/approvals?state=rejected"))
        let csv = try await APIClient.call(.GET, "\(base)/v1/offboardings/\(eventID)/configs.csv")
        check("/v1/offboardings/{event_id}/configs.csv", .GET, csv)
        #expect(String(decoding: csv.body, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 3, "a header and two configurations")
        check("/v1/offboardings/{event_id}/configs.csv", .GET, try await APIClient.call(.GET, "\(base)/v1/offboardings/none/configs.csv"))
        check("/v1/approvals/{approval_id}", .POST, try await APIClient.call(.POST, "\(base)/v1/approvals/\(approvalID)", body: APIClient.json(["decision": "maybe"])))
        check("/v1/approvals/{approval_id}", .POST, try await APIClient.call(.POST, "\(base)/v1/approvals/none", body: APIClient.json(["decision": "reject", "approver": "a"])))
        check(
            "/v1/approvals/{approval_id}", .POST,
            try await APIClient.call(.POST, "\(base)/v1/approvals/\(approvalID)", body: APIClient.json(["decision": "reject", "approver": "qa", "comment": "no"])))
        _ = try await APIClient.result(harness, eventID: eventID) { $0.approval?.state == .rejected }
        check(
            "/v1/approvals/{approval_id}", .POST,
            try await APIClient.call(.POST, "\(base)/v1/approvals/\(approvalID)", body: APIClient.json(["decision": "approve", "approver": "qa"])))
        check("/health/live", .GET, try await APIClient.call(.GET, "\(base)/health/live", token: nil))
        check("/health/ready", .GET, try await APIClient.call(.GET, "\(base)/health/ready", token: nil))
        #expect(problems.isEmpty, "\(problems)")
        // The check itself can fail: an undocumented status and a body of the wrong shape are caught.
        let wrong = APIResponse(status: 202, body: APIClient.json(["event": 1]), headers: [("Content-Type", "application/json")])
        #expect(!openAPI.problems(path: "/v1/offboardings", method: "POST", response: wrong).isEmpty)
        let undocumented = APIResponse(status: 418, body: [], headers: [])
        #expect(!openAPI.problems(path: "/health/live", method: "GET", response: undocumented).isEmpty)
    }
}
