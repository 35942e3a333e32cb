import Crypto
import Foundation
import NIOHTTP1
import OffboardingCore
import OffboardingTestSupport
import PSASimulators
import Testing

/// Webhook ingress of each PSA through the running server: verified deliveries become one event
/// (trigger `webhook`) each, forged or malformed ones produce nothing.
@Suite struct WebhookTests {
    // MARK: ConnectWise

    static func connectWiseCallback(client: Int, messageID: String, status: String?, keyURL: String, action: String = "updated") -> [UInt8] {
        var payload: [String: Any] = [
            "MessageId": messageID, "FromUrl": "https://api-na.myconnectwise.net", "CompanyId": "acme", "MemberId": "jdoe",
            "Action": action, "Type": "company", "ID": client, "Metadata": ["key_url": keyURL],
        ]
        if let status {
            let entity: [String: Any] = ["id": client, "identifier": "Client\(client)", "name": "Client \(client)", "status": ["id": 9, "name": status]]
            payload["Entity"] = String(decoding: try! JSONSerialization.data(withJSONObject: entity), as: UTF8.self)
        }
        return APIClient.json(payload)
    }

    /// The signature as ConnectWise computes it, written here independently of the service's code.
    static func connectWiseSignature(_ body: [UInt8], signingKey: String) -> String {
        let key = SymmetricKey(data: Data(SHA256.hash(data: Data(signingKey.utf8))))
        return Data(HMAC<SHA256>.authenticationCode(for: body, using: key)).base64EncodedString()
    }

    @Test func connectWiseCallbacksAreVerifiedWithTheKeyFromAnAllowedKeyURL() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let client = await harness.makeClient(active: 3)
        let keyURL = "\(harness.server.baseURL)\(ConnectWiseSimulator.callbackKeyPath)?id=\(client.id)"
        let url = "\(harness.apiBaseURL)/webhooks/connectwise"
        let body = Self.connectWiseCallback(client: client.id, messageID: UUID().uuidString, status: "Offboarded", keyURL: keyURL)
        let signature = Self.connectWiseSignature(body, signingKey: await simulator.callbackSigningKey)

        // Forged, unsigned, from a key URL off the allow-list, malformed: refused, nothing produced.
        let forged = try await APIClient.call(.POST, url, token: nil, headers: [("x-content-signature", Self.connectWiseSignature(body, signingKey: "guess"))], body: body)
        #expect(forged.status == 401)
        #expect(try await APIClient.call(.POST, url, token: nil, body: body).status == 401)
        let elsewhere = Self.connectWiseCallback(
            client: client.id, messageID: UUID().uuidString, status: "Offboarded", keyURL: "http://localhost:1\(ConnectWiseSimulator.callbackKeyPath)?id=1")
        let offList = try await APIClient.call(.POST, url, token: nil, headers: [("x-content-signature", Self.connectWiseSignature(elsewhere, signingKey: "k"))], body: elsewhere)
        #expect(offList.status == 401)
        #expect(((offList.json["error"] as? [String: Any])?["message"] as? String)?.contains("key_url_hosts") == true)
        let tampered = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "jdoe", with: "mallory").utf8)
        #expect(tampered != body)
        #expect(try await APIClient.call(.POST, url, token: nil, headers: [("x-content-signature", signature)], body: tampered).status == 401)
        #expect(try await APIClient.call(.POST, url, token: nil, headers: [("x-content-signature", signature)], body: Array("{oops".utf8)).status == 400)

        // Signed: one event, and the offboarding runs; the PSA's repeat produces no second event.
        let first = try await APIClient.call(.POST, url, token: nil, headers: [("x-content-signature", signature)], body: body)
        #expect(first.status == 200)
        let eventID = try #require(first.json["event_id"] as? String)
        let repeated = try await APIClient.call(.POST, url, token: nil, headers: [("x-content-signature", signature)], body: body)
        #expect(repeated.status == 200)
        #expect(repeated.json["event_id"] as? String == eventID)
        let result = try await APIClient.result(harness, eventID: eventID)
        #expect(result.trigger == .webhook)
        #expect(result.statistics.configsDeactivated == 3)
        let events = try await harness.settledEvents(forClient: client.id)
        #expect(events.count == 1)
        #expect(events.first?.trigger == .webhook)
    }

    /// A company deleted in ConnectWise is not an offboarding, whatever status its last record had:
    /// the signed callback is answered and nothing is produced.
    @Test func aConnectWiseDeletedCallbackIsIgnored() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let client = await harness.makeClient(active: 2)
        let keyURL = "\(harness.server.baseURL)\(ConnectWiseSimulator.callbackKeyPath)?id=\(client.id)"
        let body = Self.connectWiseCallback(client: client.id, messageID: UUID().uuidString, status: "Offboarded", keyURL: keyURL, action: "deleted")
        let signature = Self.connectWiseSignature(body, signingKey: await simulator.callbackSigningKey)
        let answer = try await APIClient.call(.POST, "\(harness.apiBaseURL)/webhooks/connectwise", token: nil, headers: [("x-content-signature", signature)], body: body)
        #expect(answer.status == 200 && answer.json["event_id"] is NSNull, "\(answer.json)")
        #expect((answer.json["ignored"] as? String)?.contains("deleted") == true)
        #expect(try await harness.settledEvents(forClient: client.id).isEmpty, "no event for a deleted company")
        for id in client.configurations { #expect(await harness.tenant.isConfigurationActive(id) == true) }
    }

    /// ConnectWise rotates its signing key: the service's cached key stops verifying, it fetches
    /// the key once more, and callbacks signed with the new key pass while the old key is refused.
    /// Its own harness: the rotation would break the shared one's other callbacks; and one that may
    /// fetch a key URL again at once (by default once a minute at most, see the next test).
    @Test func aRotatedConnectWiseSigningKeyIsFetchedAgainAndTheOldOneRefused() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { $0.webhooks.connectWiseKeyRefreshInterval = .zero }
        do {
            let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
            let client = await harness.makeClient(active: 1)
            let keyURL = "\(harness.server.baseURL)\(ConnectWiseSimulator.callbackKeyPath)?id=\(client.id)"
            let url = "\(harness.apiBaseURL)/webhooks/connectwise"
            func deliver(signedWith key: String) async throws -> Int {
                let body = Self.connectWiseCallback(client: client.id, messageID: UUID().uuidString, status: "Offboarded", keyURL: keyURL)
                return try await APIClient.call(.POST, url, token: nil, headers: [("x-content-signature", Self.connectWiseSignature(body, signingKey: key))], body: body)
                    .status
            }
            let old = await simulator.callbackSigningKey
            #expect(try await deliver(signedWith: old) == 200)
            #expect(try await deliver(signedWith: old) == 200)
            #expect(await simulator.callbackKeyFetches == 1, "the key is cached")
            await simulator.rotateCallbackSigningKey(to: "rotated-signing-key")
            #expect(try await deliver(signedWith: "rotated-signing-key") == 200, "the cached key fails, the fetched one verifies")
            #expect(await simulator.callbackKeyFetches == 2)
            #expect(try await deliver(signedWith: "rotated-signing-key") == 200)
            #expect(await simulator.callbackKeyFetches == 2, "the new key is cached in turn")
            #expect(try await deliver(signedWith: old) == 401, "the old key no longer verifies anything")
            #expect(await simulator.callbackKeyFetches == 3, "one more fetch to be sure, no more")
            try await harness.stop()
        } catch {
            try? await harness.stop()
            throw error
        }
    }

    /// A forged signature makes the service want a fresher key, and a fresh query on the key URL
    /// each time would have made it fetch each time: the key URL's path is fetched once a minute
    /// at most, whatever the query, so twenty forged deliveries cost the PSA one fetch and produce
    /// nothing. Its own harness, so that the fetch count is this test's.
    @Test func forgedCallbacksWithFreshKeyURLQueriesFetchTheKeyOnce() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { _ in }
        do {
            let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
            let client = await harness.makeClient(active: 1)
            var statuses: [Int] = []
            for attempt in 0..<20 {
                let keyURL = "\(harness.server.baseURL)\(ConnectWiseSimulator.callbackKeyPath)?id=\(attempt)&nonce=\(UUID().uuidString)"
                let body = Self.connectWiseCallback(client: client.id, messageID: UUID().uuidString, status: "Offboarded", keyURL: keyURL)
                let response = try await APIClient.call(
                    .POST, "\(harness.apiBaseURL)/webhooks/connectwise", token: nil,
                    headers: [("x-content-signature", Self.connectWiseSignature(body, signingKey: "not-the-key"))], body: body)
                statuses.append(response.status)
            }
            #expect(await simulator.callbackKeyFetches == 1, "one fetch for twenty forged deliveries")
            #expect(statuses.first == 401, "the first is checked against the key it fetched")
            #expect(statuses.dropFirst().allSatisfy { $0 == 401 || $0 == 503 }, "\(statuses)")
            #expect(harness.eventRecords(forClient: client.id).isEmpty)
            try await harness.stop()
        } catch {
            try? await harness.stop()
            throw error
        }
    }

    /// A signing key that cannot be fetched says nothing about the signature: the delivery is
    /// answered 503 (deliver again), not refused as forged, and nothing is produced.
    @Test func aSigningKeyThatCannotBeFetchedAsksForTheDeliveryAgain() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let client = await harness.makeClient(active: 1)
        let body = Self.connectWiseCallback(
            client: client.id, messageID: UUID().uuidString, status: "Offboarded", keyURL: "\(harness.server.baseURL)/no-signing-key-here")
        let response = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/webhooks/connectwise", token: nil,
            headers: [("x-content-signature", Self.connectWiseSignature(body, signingKey: "any"))], body: body)
        #expect(response.status == 503 && response.headers.contains { $0.0.lowercased() == "retry-after" })
        #expect((response.json["error"] as? [String: Any])?["code"] as? String == "SigningKeyUnavailable")
        #expect(harness.eventRecords(forClient: client.id).isEmpty)
    }

    @Test func aConnectWiseCallbackWithoutTheStatusReReadsTheCompany() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        let simulator = try #require(harness.tenant as? ConnectWiseSimulator)
        let offboarded = await harness.makeClient(active: 1)
        let active = await harness.makeClient(offboarded: false, active: 1)
        let url = "\(harness.apiBaseURL)/webhooks/connectwise"
        for (client, expectEvent) in [(offboarded.id, true), (active.id, false)] {
            let keyURL = "\(harness.server.baseURL)\(ConnectWiseSimulator.callbackKeyPath)?id=\(client)"
            let body = Self.connectWiseCallback(client: client, messageID: UUID().uuidString, status: nil, keyURL: keyURL)
            let response = try await APIClient.call(
                .POST, url, token: nil, headers: [("x-content-signature", Self.connectWiseSignature(body, signingKey: await simulator.callbackSigningKey))], body: body)
            #expect(response.status == 200, "\(response.json)")
            #expect((response.json["event_id"] as? String != nil) == expectEvent)
        }
    }

    // MARK: Autotask

    @Test func autotaskWebhooksAreVerifiedByHMACSHA1OfTheRawBody() async throws {
        let harness = try await PipelineHarness.shared(.autotask)
        let client = await harness.makeClient(active: 2)
        let url = "\(harness.apiBaseURL)/webhooks/autotask"
        let payload: [String: Any] = [
            "Action": "Update", "Guid": UUID().uuidString, "EntityType": "Account", "Id": client.id,
            "Fields": ["isActive": false, "companyName": "Client \(client.id)"], "EventTime": "2026-11-22T10:22:33.123Z",
            "SequenceNumber": 42, "PersonID": 29682885,
        ]
        let body = APIClient.json(payload)
        func sign(_ bytes: [UInt8], _ secret: String) -> String {
            "sha1=" + Data(HMAC<Insecure.SHA1>.authenticationCode(for: bytes, using: SymmetricKey(data: Data(secret.utf8)))).base64EncodedString()
        }
        #expect(try await APIClient.call(.POST, url, token: nil, headers: [("X-Hook-Signature", sign(body, "wrong"))], body: body).status == 401)
        #expect(try await APIClient.call(.POST, url, token: nil, body: body).status == 401)
        let signature = sign(body, PipelineHarness.autotaskWebhookSecret)
        let first = try await APIClient.call(.POST, url, token: nil, headers: [("X-Hook-Signature", signature)], body: body)
        #expect(first.status == 200)
        let eventID = try #require(first.json["event_id"] as? String)
        let repeated = try await APIClient.call(.POST, url, token: nil, headers: [("X-Hook-Signature", signature)], body: body)
        #expect(repeated.json["duplicate"] as? Bool == true)
        let result = try await APIClient.result(harness, eventID: eventID)
        #expect(result.trigger == .webhook)
        #expect(result.statistics.configsDeactivated == 2)
        #expect(try await harness.settledEvents(forClient: client.id).count == 1)
    }

    @Test func anAutotaskSignatureFromAnIndependentImplementationIsAccepted() async throws {
        // Body, secret and signature computed with Python's hmac module:
        // base64(hmac.new(b"autotask-webhook-secret", body, "sha1").digest())
        let harness = try await PipelineHarness.shared(.autotask)
        let body = Array(#"{"Action":"Update","EntityType":"Account","Fields":{"isActive":true},"Guid":"known-answer","Id":990001,"SequenceNumber":1}"#.utf8)
        let response = try await APIClient.call(
            .POST, "\(harness.apiBaseURL)/webhooks/autotask", token: nil, headers: [("X-Hook-Signature", "sha1=\(Self.autotaskKnownAnswer)")], body: body)
        #expect(response.status == 200)
        // Active: verified, and no event.
        #expect(response.json["event_id"] is NSNull)
    }

    static let autotaskKnownAnswer = "m3Df1igzy+ncE1srqouMdvyTzeA="

    // MARK: HaloPSA

    @Test func haloWebhooksNeedTheConfiguredBasicCredentials() async throws {
        let harness = try await PipelineHarness.shared(.halopsa)
        let client = await harness.makeClient(active: 2)
        let url = "\(harness.apiBaseURL)/webhooks/halopsa"
        let delivery = UUID().uuidString
        let body = APIClient.json([
            "id": delivery, "webhook_id": "w", "event": "Client Updated", "object_id": client.id, "timestamp": "2026-11-22T06:41:08Z",
            "client": ["id": client.id, "name": "Client \(client.id)", "inactive": true],
        ])
        func basic(_ user: String, _ password: String) -> (String, String) {
            ("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        }
        let credentials = PipelineHarness.haloWebhookCredentials
        #expect(try await APIClient.call(.POST, url, token: nil, headers: [basic(credentials.username, "nope")], body: body).status == 401)
        #expect(try await APIClient.call(.POST, url, token: nil, body: body).status == 401)
        #expect(try await APIClient.call(.POST, url, token: nil, headers: [basic(credentials.username, credentials.password)], body: Array("[]".utf8)).status == 400)
        let first = try await APIClient.call(.POST, url, token: nil, headers: [basic(credentials.username, credentials.password)], body: body)
        #expect(first.status == 200)
        let eventID = try #require(first.json["event_id"] as? String)
        _ = try await APIClient.call(.POST, url, token: nil, headers: [basic(credentials.username, credentials.password)], body: body)
        let result = try await APIClient.result(harness, eventID: eventID)
        #expect(result.statistics.configsDeactivated == 2)
        // "Event information only": no client object, so the client is re-read from Halo.
        let other = await harness.makeClient(active: 1)
        let light = APIClient.json(["id": UUID().uuidString, "event": "Client Updated", "object_id": other.id])
        let reread = try await APIClient.call(.POST, url, token: nil, headers: [basic(credentials.username, credentials.password)], body: light)
        #expect(reread.json["event_id"] is String)
        #expect(try await harness.settledEvents(forClient: client.id).count == 1)
    }
}
