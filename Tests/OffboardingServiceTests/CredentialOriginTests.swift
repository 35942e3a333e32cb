import AsyncHTTPClient
import Foundation
import Hummingbird
import OffboardingCore
@testable import OffboardingHTTPAPI
import OffboardingService
import OffboardingTestSupport
import PSAAutotask
import PSAConnectWise
import PSASimulators
import Synchronization
import Testing

/// PSA credentials and webhook key fetches go to the configured origin only: no redirect is
/// followed, a zone lookup cannot move them to plain http, and key fetches are bounded.
@Suite struct CredentialOriginTests {
    /// A server that answers every request with a redirect to `target`, keeping the path.
    static func redirecting(to target: String) async throws -> SimulatorServer {
        let router = Router()
        router.get("**") { request, _ in
            Response(status: .temporaryRedirect, headers: [.location: target + request.uri.path])
        }
        return try await SimulatorServer.start(router: router, logger: .test())
    }

    @Test func aRedirectToAnotherOriginIsNotFollowedAndCarriesNoCredentials() async throws {
        let simulator = ConnectWiseSimulator(data: .sample())
        try await SimulatorServer.serving(simulator) { target in
            let redirector = try await Self.redirecting(to: target.baseURL)
            let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 2)
            let credentials = ConnectWiseSimulator.Credentials.sandbox
            let client = ConnectWiseClient(
                configuration: .init(
                    baseURL: redirector.baseURL + ConnectWiseSimulator.apiPath, companyID: credentials.companyID, publicKey: credentials.publicKey,
                    privateKey: credentials.privateKey, clientID: credentials.clientID),
                httpClient: httpClient, logger: .test())
            do throws(PSAError) {
                _ = try await client.findCompany(.id("12345"))
                Issue.record("a redirect was followed")
            } catch {
                #expect(error.code == .psaConnectionError)
                #expect(error.message.contains("redirect"))
            }
            #expect(await simulator.requestCount == 0, "the credentials never reached the other origin")
            // The webhook key fetch uses the same client: a redirected key URL yields no key.
            let keys = CallbackKeyCache(httpClient: httpClient, logger: .test())
            #expect(await keys.key(for: redirector.baseURL + ConnectWiseSimulator.callbackKeyPath, refresh: false) == nil)
            #expect(await simulator.requestCount == 0)
            try await httpClient.shutdown()
            await redirector.stop()
        }
    }

    @Test func anAutotaskZoneLookupNamingPlainHTTPIsRefused() async throws {
        let router = Router()
        router.get("**") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: .init(string: #"{"zoneName":"Elsewhere","url":"http://webservices99.autotask.example/atservicesrest/","ci":1}"#)))
        }
        let zone = try await SimulatorServer.start(router: router, logger: .test())
        let client = AutotaskClient(
            configuration: .init(baseURL: nil, zoneInformationURL: zone.baseURL + "/zoneInformation", apiIntegrationCode: "c", username: "u@example.com", secret: "s"),
            httpClient: .shared, logger: .test())
        do throws(PSAError) {
            _ = try await client.findCompany(.id("1"))
            Issue.record("the plain-http zone was used")
        } catch {
            #expect(error.message.contains("refused") && error.message.contains("https"))
        }
        await zone.stop()
    }

    @Test func keyURLsOnAnotherPortOrSchemeAreRefused() {
        let hosts = ["api-na.myconnectwise.net", "*.myconnectwise.net"]
        func refusal(_ url: String) -> String? { ConnectWiseWebhook.refusal(of: URL(string: url)!, allowedHosts: hosts) }
        #expect(refusal("https://api-na.myconnectwise.net/v4_6_release/apis/3.0/system/callbackkey?id=1") == nil)
        #expect(refusal("https://api-na.myconnectwise.net:443/x") == nil)
        #expect(refusal("https://api-na.myconnectwise.net:8443/x")?.contains("port 8443") == true)
        #expect(refusal("http://api-na.myconnectwise.net/x")?.contains("https") == true)
        #expect(refusal("https://myconnectwise.net.evil.example/x") != nil)
    }

    /// A key server that counts its fetches, answering each after a short pause.
    final class Counter: Sendable {
        let value = Mutex(0)
    }

    static func keyServer(fetches: Counter) async throws -> SimulatorServer {
        let router = Router()
        router.get(":name") { _, _ in
            fetches.value.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(50))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: #"{"signing_key":"k"}"#)))
        }
        return try await SimulatorServer.start(router: router, logger: .test())
    }

    @Test func aKeyURLIsFetchedOnceHoweverManyDeliveriesNameIt() async throws {
        let fetches = Counter()
        let server = try await Self.keyServer(fetches: fetches)
        let keys = CallbackKeyCache(httpClient: .shared, refreshInterval: .zero, logger: .test())
        let url = server.baseURL + "/key?id=1"
        let answers = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 { group.addTask { await keys.key(for: url, refresh: false) } }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(answers == Array(repeating: "k", count: 20))
        #expect(fetches.value.withLock { $0 } == 1)
        // Cached afterwards, whatever the query; a refresh (rotation) fetches once more.
        _ = await keys.key(for: server.baseURL + "/key?id=2", refresh: false)
        #expect(fetches.value.withLock { $0 } == 1)
        _ = await keys.key(for: url, refresh: true)
        #expect(fetches.value.withLock { $0 } == 2)
        await server.stop()
    }

    /// The key URLs come from payloads, so at most 64 keys are kept, the oldest going first: a
    /// 65th path pushes out the first, which is then fetched again, while the newer stay cached.
    @Test func atMost64KeysAreKeptAndTheOldestGoesFirst() async throws {
        let fetches = Mutex<[String: Int]>([:])
        let router = Router()
        router.get("keys/:name") { _, context in
            let name = try context.parameters.require("name")
            fetches.withLock { $0[name, default: 0] += 1 }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: #"{"signing_key":"key-\#(name)"}"#)))
        }
        let server = try await SimulatorServer.start(router: router, logger: .test())
        let keys = CallbackKeyCache(httpClient: .shared, refreshInterval: .zero, logger: .test())
        let url = { (index: Int) in server.baseURL + "/keys/k\(index)?id=\(index)" }
        for index in 0...64 { #expect(await keys.key(for: url(index), refresh: false) == "key-k\(index)") }
        #expect(keys.count == 64)
        #expect(await keys.key(for: url(64), refresh: false) == "key-k64")
        #expect(await keys.key(for: url(1), refresh: false) == "key-k1")
        #expect(fetches.withLock { $0 }.values.allSatisfy { $0 == 1 }, "the newer 64 answered from the cache")
        #expect(await keys.key(for: url(0), refresh: false) == "key-k0")
        #expect(fetches.withLock { $0["k0"] } == 2, "the first, pushed out, fetched again")
        #expect(keys.count == 64)
        await server.stop()
    }

    /// Within the refresh interval a path is not fetched again: a cached key is taken as current
    /// (a refresh answers nothing new), whatever query a delivery adds.
    @Test func aKeyURLPathIsFetchedAtMostOncePerInterval() async throws {
        let fetches = Counter()
        let server = try await Self.keyServer(fetches: fetches)
        let keys = CallbackKeyCache(httpClient: .shared, refreshInterval: .seconds(3600), logger: .test())
        #expect(await keys.key(for: server.baseURL + "/key?id=1", refresh: false) == "k")
        for id in 0..<20 { #expect(await keys.key(for: server.baseURL + "/key?id=\(id)&n=\(id)", refresh: true) == nil) }
        #expect(await keys.key(for: server.baseURL + "/key?id=9", refresh: false) == "k")
        #expect(fetches.value.withLock { $0 } == 1)
        await server.stop()
    }

    /// A key is used for its lifetime (an hour by default, `CallbackKeyCache.defaultLifetime`) and
    /// fetched again after it, so a rotated key is learnt even with no delivery failing its check.
    @Test func aKeyIsFetchedAgainOnceItsLifetimeIsOver() async throws {
        #expect(CallbackKeyCache.defaultLifetime == .seconds(3600), "the README's hour")
        let fetches = Counter()
        let server = try await Self.keyServer(fetches: fetches)
        let lifetime = Duration.seconds(3)
        let keys = CallbackKeyCache(httpClient: .shared, refreshInterval: .zero, lifetime: lifetime, logger: .test())
        let asked = ContinuousClock.now
        #expect(await keys.key(for: server.baseURL + "/key", refresh: false) == "k")
        // The key was fetched between `asked` and `answered`.
        let answered = ContinuousClock.now
        _ = await keys.key(for: server.baseURL + "/key?id=2", refresh: false)
        if ContinuousClock.now - asked < lifetime {
            #expect(fetches.value.withLock { $0 } == 1, "held within its lifetime")
        }
        try await Task.sleep(until: answered + lifetime + .milliseconds(100))
        #expect(await keys.key(for: server.baseURL + "/key", refresh: false) == "k")
        #expect(fetches.value.withLock { $0 } == 2, "fetched again after its lifetime")
        await server.stop()
    }

    @Test func theKeyCacheIsBounded() async throws {
        let fetches = Counter()
        let server = try await Self.keyServer(fetches: fetches)
        let keys = CallbackKeyCache(httpClient: .shared, capacity: 8, logger: .test())
        for id in 0..<30 { _ = await keys.key(for: server.baseURL + "/key\(id)?id=\(id)", refresh: false) }
        #expect(fetches.value.withLock { $0 } == 30)
        #expect(keys.count == 8)
        await server.stop()
    }
}
