import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import OffboardingCore
import OffboardingKafka
import OffboardingTestSupport
import PSASimulators
import Testing

@testable import OffboardingService

/// Inputs an attacker or a careless integrator sends to the running service: numbers out of
/// range, requests that try to widen the operator's policy, records naming another client's
/// configurations. Each gets a clear refusal; the service keeps serving.
@Suite struct HostileInputTests {
    func stillServes(_ harness: PipelineHarness) async throws {
        let live = try await APIClient.call(.GET, "\(harness.apiBaseURL)/health/live", token: nil)
        #expect(live.status == 200, "the service still answers")
    }

    /// Asks `/health/live` every 100 ms until cancelled, and returns every status it got. Sampling,
    /// not synchronisation: ten times as often as a kubelet would.
    func watchLiveness(_ harness: PipelineHarness) -> Task<[Int], Never> {
        Task {
            var statuses: [Int] = []
            while !Task.isCancelled {
                let status = (try? await APIClient.call(.GET, "\(harness.apiBaseURL)/health/live", token: nil))?.status
                // A probe cut short by the watch's own end is no answer of the service's.
                if Task.isCancelled { break }
                statuses.append(status ?? 0)
                try? await Task.sleep(for: .milliseconds(100))
            }
            return statuses
        }
    }

    func message(_ response: APIResponse) -> String {
        ((response.json["error"] as? [String: Any])?["message"] as? String) ?? ""
    }

    // MARK: Linear work

    /// An event of almost 1 MB holding tens of thousands of distinct extension attributes. The
    /// prefilter, which runs inside the consumer's poll, used to compare each key with every key
    /// before it: minutes of work before the poll returned. Now it is left to the decoder, which
    /// refuses it past the event's limit of keys and values; it is dead-lettered, the next event
    /// of its partition runs, and liveness answers 200 throughout.
    @Test func anEventOfTensOfThousandsOfKeysIsDeadLetteredWhileTheServiceStaysLive() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let client = await harness.makeClient(active: 2)
        let floodID = UUID().uuidString
        var flood = Array(#"{"specversion":"1.0","id":"\#(floodID)","source":"psa/connectwise/test","type":"psa.company.status_changed","#.utf8)
        var keys = 0
        while flood.count < 900_000 {
            flood += Array(#""k\#(keys)":true,"#.utf8)
            keys += 1
        }
        flood += Array(#""data":{"psa":"connectwise","company_id":"\#(client.id)","status":"Active"}}"#.utf8)
        #expect(keys > 50_000)
        let watcher = watchLiveness(harness)
        let next = harness.event(forClient: client.id)
        try await harness.sendRaw(key: String(client.id), value: flood)
        try await harness.send(next)
        // The same key, so the same partition: the next event runs only after the flood was dealt with.
        // The bound is generous: the shared harness serves the suite's other tests meanwhile, and on
        // a loaded two-core machine a debug build takes seconds over a record this size.
        let (_, result) = try await harness.result(for: next.id, timeout: .seconds(90))
        watcher.cancel()
        let statuses = await watcher.value
        #expect(result.statistics.configsDeactivated == 2)
        let letters = try await harness.deadLetters.wait(timeout: .seconds(90), for: "the flood's dead letter") { records in
            records.contains { $0.keyString == String(client.id) }
        }
        let letter = try #require(letters.first { $0.keyString == String(client.id) })
        #expect(letter.headers.last(named: "dlq.error.code")?.stringValue == "InvalidEvent")
        #expect(letter.headers.last(named: "dlq.reason")?.stringValue?.contains("more than 4096 keys and values") == true)
        #expect(!statuses.isEmpty)
        #expect(statuses.allSatisfy { $0 == 200 }, "liveness answered \(statuses.filter { $0 != 200 })")
    }

    // MARK: Restores at the edge

    /// Each restore reads the results topic with a consumer of its own. Forty asked for at once
    /// are held to the bound (two reading, eight waiting, the rest answered 429 with
    /// `Retry-After`), liveness answers 200 throughout, and an id the ledger knows was never
    /// published is answered 404 without a read. A pipeline of its own, so that the counts are
    /// this test's alone.
    @Test func fortyConcurrentRestoresAreHeldToTheBoundWhileTheServiceAnswers() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { _ in }
        try await harness.waitForAssignment()
        let client = await harness.makeClient(active: 2)
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        _ = try await harness.result(for: event.id)
        let reads = harness.runtime.pipeline.restoreReads
        let unknown = try await APIClient.call(.POST, "\(harness.apiBaseURL)/v1/offboardings/\(UUID().uuidString)/restore", body: Array("{}".utf8))
        #expect(unknown.status == 404)
        #expect(reads.started == 0, "an id that has no result is answered without reading the topic")

        // Forty connections at once: the shared client keeps eight per host.
        var pool = HTTPClient.Configuration()
        pool.connectionPool = .init(idleTimeout: .seconds(10), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: pool)
        let watcher = watchLiveness(harness)
        let answers = await withTaskGroup(of: (status: Int, retryAfter: String?).self) { group in
            for _ in 0..<40 {
                group.addTask {
                    var request = HTTPClientRequest(url: "\(harness.apiBaseURL)/v1/offboardings/\(event.id)/restore")
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(PipelineHarness.apiToken)")
                    request.body = .bytes(ByteBuffer(string: #"{"dry_run":true}"#))
                    guard let response = try? await http.execute(request, timeout: .seconds(60)) else { return (0, nil) }
                    _ = try? await response.body.collect(upTo: 1 << 20)
                    return (Int(response.status.code), response.headers.first(name: "Retry-After"))
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        watcher.cancel()
        let live = await watcher.value
        try await http.shutdown()
        let statuses = answers.map(\.status)
        #expect(statuses.allSatisfy { $0 == 202 || $0 == 429 }, "\(statuses)")
        #expect(statuses.contains(429), "more asked at once than may read and wait: \(statuses)")
        #expect(answers.filter { $0.status == 429 }.allSatisfy { $0.retryAfter == "5" })
        #expect(reads.mostAtOnce <= RestoreReads.defaultLimit, "at most \(RestoreReads.defaultLimit) reads of the results topic at once, saw \(reads.mostAtOnce)")
        #expect(!live.isEmpty && live.allSatisfy { $0 == 200 }, "liveness answered \(live.filter { $0 != 200 })")
        try await harness.stop()
    }

    // MARK: Numbers out of range

    @Test func aHaloWebhookWithAnObjectIDBeyond64BitsIsRefused() async throws {
        let harness = try await PipelineHarness.shared(.halopsa)
        let credentials = PipelineHarness.haloWebhookCredentials
        let auth = ("Authorization", "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString())
        for id in ["1e19", "-1e19", "1e300", "0", "2.5"] {
            let body = Array(#"{"id":"\#(UUID().uuidString)","event":"Client Updated","object_id":\#(id)}"#.utf8)
            let response = try await APIClient.call(.POST, "\(harness.apiBaseURL)/webhooks/halopsa", token: nil, headers: [auth], body: body)
            #expect(response.status == 400, "object_id \(id)")
            #expect(message(response).contains("object_id"))
        }
        try await stillServes(harness)
    }

    @Test func anAutotaskDeliveryWithASequenceNumberBeyond64BitsIsRefused() async throws {
        let harness = try await PipelineHarness.shared(.autotask)
        for (id, sequence) in [("29683001", "-1e19"), ("29683001", "1e19"), ("1e19", "1")] {
            let body = Array(#"{"Action":"Update","EntityType":"Company","Fields":{"isActive":false},"Guid":"g","Id":\#(id),"SequenceNumber":\#(sequence)}"#.utf8)
            let mac = HMAC<Insecure.SHA1>.authenticationCode(for: body, using: SymmetricKey(data: Data(PipelineHarness.autotaskWebhookSecret.utf8)))
            let response = try await APIClient.call(
                .POST, "\(harness.apiBaseURL)/webhooks/autotask", token: nil, headers: [("X-Hook-Signature", "sha1=" + Data(mac).base64EncodedString())],
                body: body)
            #expect(response.status == 400, "Id \(id), SequenceNumber \(sequence)")
        }
        try await stillServes(harness)
    }

    @Test func aConnectWiseCallbackWithAnIDBeyond64BitsOrFromAnotherCompanyIsRefused() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let keyURL = "\(harness.server.baseURL)\(ConnectWiseSimulator.callbackKeyPath)?id=1"
        func deliver(id: String, company: String) async throws -> APIResponse {
            let body = Array(
                #"{"MessageId":"\#(UUID().uuidString)","CompanyId":"\#(company)","Action":"updated","Type":"company","ID":\#(id),"Metadata":{"key_url":"\#(keyURL)"}}"#
                    .utf8)
            let signature = WebhookTests.connectWiseSignature(body, signingKey: await simulator.callbackSigningKey)
            return try await APIClient.call(.POST, "\(harness.apiBaseURL)/webhooks/connectwise", token: nil, headers: [("x-content-signature", signature)], body: body)
        }
        #expect(try await deliver(id: "1e19", company: "acme").status == 400)
        #expect(try await deliver(id: "-1e19", company: "acme").status == 400)
        // Every ConnectWise cloud tenant calls back from the same hosts: a signed callback of
        // another company is still not one of ours.
        let client = await harness.makeClient(active: 1)
        let foreign = try await deliver(id: String(client.id), company: "someone-else")
        #expect(foreign.status == 401)
        #expect(message(foreign).contains("CompanyId"))
        #expect(try await deliver(id: String(client.id), company: "ACME").status == 200, "the company id is not case-sensitive")
        try await stillServes(harness)
    }

    @Test func anAPIRequestWithAClientIDBeyond64BitsIsRefused() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        for id in ["1e19", "-1e19", "1e300", "9007199254740992", "0"] {
            let response = try await APIClient.call(.POST, "\(harness.apiBaseURL)/v1/offboardings", body: Array(#"{"client_id":\#(id)}"#.utf8))
            #expect(response.status == 400, "client_id \(id)")
            #expect(message(response).contains("client_id"))
        }
        try await stillServes(harness)
    }

    @Test func aRetryRecordWithAnAttemptOutOfRangeIsDeadLettered() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(active: 1)
        let value = #"{"event_id":"hostile-\#(UUID().uuidString)","trigger":"event","psa":"connectwise","client_id":"\#(client.id)","offboarded_statuses":["Offboarded"],"attempt":\#(Int.max),"configs":[{"config_id":"\#(client.configurations[0])","config_name":"x"}]}"#
        try await harness.sendRecord(topic: PipelineHarness.topics.retry, key: String(client.id), value: Array(value.utf8))
        let letters = try await harness.deadLetters.wait(timeout: .seconds(30), for: "the retry record's dead letter") { records in
            records.contains { $0.keyString == String(client.id) }
        }
        let letter = try #require(letters.first { $0.keyString == String(client.id) })
        #expect(letter.headers.last(named: "dlq.error.code")?.stringValue == "InvalidEvent")
        #expect(letter.headers.last(named: "dlq.reason")?.stringValue?.contains("attempt") == true)
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
        try await stillServes(harness)
    }

    // MARK: Policy

    @Test(arguments: PSAKind.allCases)
    func anEventThatWidensTheCriteriaGetsAFailureAndTouchesNothing(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let client = await harness.makeClient(offboarded: false, active: 3)
        let event = harness.event(forClient: client.id, status: "Active", options: .init(offboardedStatuses: ["Active"]))
        try await harness.send(event)
        let (_, result) = try await harness.result(for: event.id)
        #expect(!result.success)
        #expect(result.errors.map(\.code) == [.criteriaOverrideRefused])
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
        for id in client.configurations { #expect(await harness.tenant.isConfigurationActive(id) == true) }
    }

    @Test func anAPIRequestMayNarrowTheCriteriaButNotWidenThem() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(offboarded: false, active: 2)
        let widened = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/offboardings", body: APIClient.json(["client_id": String(client.id), "offboarded_statuses": ["Active"]]))
        #expect(widened.status == 400)
        #expect(widened.errorCode == "CriteriaOverrideRefused")
        #expect(message(widened).contains("allow_request_override"))
        let narrowed = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/v1/offboardings", body: APIClient.json(["client_id": String(client.id), "offboarded_statuses": ["offboarded"]]))
        #expect(narrowed.status == 202)
        let eventID = try #require(narrowed.json["event_id"] as? String)
        let result = try await APIClient.result(harness, eventID: eventID)
        #expect(result.warnings.map(\.code) == [.clientNotOffboarded], "the narrowed criteria do not call an active client offboarded")
        #expect(await harness.tenant.deactivationWrites(forClient: client.id) == 0)
    }

    // MARK: Ownership

    @Test(arguments: PSAKind.allCases)
    func aRetryRecordNamingAnotherClientsConfigurationWritesNothingOfIt(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let victim = await harness.makeClient(offboarded: false, active: 2)
        let client = await harness.makeClient(active: 1)
        let eventID = "hostile-\(UUID().uuidString)"
        let request = RetryRequest(
            eventID: eventID, trigger: .event, psa: psa, clientID: String(client.id), clientName: nil, reason: nil, offboardedStatuses: ["Inactive", "Offboarded"],
            attempt: 2, configs: [.init(configID: String(client.configurations[0]), configName: "ours"), .init(configID: String(victim.configurations[0]), configName: "theirs")])
        try await harness.sendRecord(topic: PipelineHarness.topics.retry, key: String(client.id), value: request.encoded())
        let (_, result) = try await harness.result(for: eventID)
        #expect(result.warnings.contains { $0.code == .ownershipMismatch && $0.message.contains(String(victim.configurations[0])) })
        #expect(result.configs.map(\.configID) == [String(client.configurations[0])])
        #expect(await harness.tenant.isConfigurationActive(client.configurations[0]) == false)
        #expect(await harness.tenant.isConfigurationActive(victim.configurations[0]) == true)
        #expect(await harness.tenant.deactivationWrites(forClient: victim.id) == 0)
    }

    @Test(arguments: PSAKind.allCases)
    func aConfigurationTheListingReturnsForAnotherClientIsNeverWritten(psa: PSAKind) async throws {
        let harness = try await PipelineHarness.shared(psa)
        let victim = await harness.makeClient(offboarded: false, active: 1)
        let client = await harness.makeClient(active: 2)
        await harness.tenant.leakConfiguration(victim.configurations[0], intoListingOf: client.id)
        let event = harness.event(forClient: client.id)
        try await harness.send(event)
        let (_, result) = try await harness.result(for: event.id)
        #expect(result.statistics.configsDeactivated == 2)
        #expect(result.warnings.contains { $0.code == .ownershipMismatch && $0.message.contains(String(victim.configurations[0])) })
        #expect(await harness.tenant.isConfigurationActive(victim.configurations[0]) == true)
        #expect(await harness.tenant.deactivationWrites(forClient: victim.id) == 0)
    }
}
