import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OffboardingCore
import OffboardingTestSupport
import PSAHalo
import PSAHTTP
import PSASimulators
import Testing

@Suite(.timeLimit(.minutes(2)))
struct HaloClientTests {
    func withSimulator(
        _ data: HaloDataset = .sample(), configure: (inout HaloClient.Configuration) -> Void = { _ in },
        _ body: (HaloSimulator, HaloClient, SimulatorServer) async throws -> Void
    ) async throws {
        let simulator = HaloSimulator(data: data)
        try await SimulatorServer.serving(simulator) { server in
            let credentials = HaloSimulator.Credentials.sandbox
            var configuration = HaloClient.Configuration(
                baseURL: server.baseURL, authURL: server.baseURL + HaloSimulator.authPath, clientID: credentials.clientID,
                clientSecret: credentials.clientSecret, tenant: credentials.tenant)
            configure(&configuration)
            try await body(simulator, HaloClient(configuration: configuration, httpClient: .shared, logger: .test()), server)
        }
    }

    @Test func theTokenIsCachedAndRenewedOnceAfterA401() async throws {
        try await withSimulator { simulator, client, _ in
            for _ in 0..<5 { _ = try await client.findCompany(.id("12")) }
            #expect(await simulator.tokensIssued == 1)
            await simulator.revokeAllTokens()
            let company = try await client.findCompany(.id("12"))
            #expect(company.status == "Inactive")
            #expect(await simulator.tokensIssued == 2)
        }
    }

    @Test func aTokenAboutToExpireIsRenewedBeforeUse() async throws {
        try await withSimulator { simulator, client, _ in
            await simulator.setTokenLifetime(seconds: 30)
            for _ in 0..<3 { _ = try await client.findCompany(.id("13")) }
            // 30 s of validity is inside the 60 s renewal margin, so each call gets a fresh token.
            #expect(await simulator.tokensIssued >= 3)
        }
    }

    @Test func oauthFailuresAreMappedToTheContractsCodes() async throws {
        try await withSimulator(configure: { $0.clientSecret = "wrong" }) { _, client, _ in
            do throws(PSAError) {
                _ = try await client.findCompany(.id("12"))
                Issue.record("expected a failure")
            } catch {
                #expect(error.code == .psaConnectionError && error.message.contains("invalid_client"))
            }
        }
        try await withSimulator(configure: { $0.scope = "admin" }) { _, client, _ in
            do throws(PSAError) {
                _ = try await client.findCompany(.id("12"))
                Issue.record("expected a failure")
            } catch {
                #expect(error.code == .permissionDenied)
            }
        }
    }

    @Test func inactiveClientsAreFoundByExactNameAndUnknownIdsAreNotFound() async throws {
        try await withSimulator { _, client, _ in
            let client12 = try await client.findCompany(.name("Example Client"))
            #expect(client12.id == "12" && client12.status == "Inactive")
            do throws(PSAError) {
                _ = try await client.findCompany(.name("Example"))
                Issue.record("a partial name must not match")
            } catch {
                #expect(error.code == .clientNotFound)
            }
            do throws(PSAError) {
                _ = try await client.findCompany(.id("77"))
                Issue.record("expected ClientNotFound")
            } catch {
                #expect(error.code == .clientNotFound && error.httpStatus == 404)
            }
        }
    }

    /// No client is 0 or below, nor has a second spelling: such an id is refused before a request carries it.
    @Test(arguments: ["0", "-1", "+12"])
    func aClientIdThatNamesNoClientIsNotListed(companyID: String) async throws {
        try await withSimulator { simulator, client, _ in
            let (error, requests) = await client.listingFailure(companyID: companyID, tenant: simulator)
            #expect(error?.code == .clientNotFound && requests == 0, "\(String(describing: error))")
        }
    }

    @Test func pagesUntilRecordCountAndNeverCreatesAssets() async throws {
        var data = HaloDataset.empty()
        data.clients = [.init(id: 1, name: "A", inactive: true)]
        data.assets = (1...1_234).map { .init(id: $0, clientID: 1, inventoryNumber: "a\($0)", inactive: $0 % 4 == 0) }
        try await withSimulator(data, configure: { $0.pageSize = 500 }) { simulator, client, server in
            #expect(try await client.listConfigurations(companyID: "1", includeArchived: true).count == 1_234)
            let active = try await client.listConfigurations(companyID: "1", includeArchived: false)
            #expect(active.count == 1_234 - 308)
            // Every page asked for once, in order, and no more: 1,234 rows are 3 pages of 500, 926 are 2.
            #expect(await simulator.assetListings.map(\.page) == [1, 2, 3, 1, 2])
            // Halo itself, asked without pageinate, answers the whole list or its first `count` rows.
            let token = try await Self.token(from: server)
            for (query, rows) in [("", 926), ("&count=7", 7)] {
                var request = HTTPClientRequest(url: server.baseURL + "/api/Asset?client_id=1" + query)
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                let body = try await HTTPClient.shared.execute(request, timeout: .seconds(10)).body.collect(upTo: 16 << 20)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
                #expect((json["assets"] as? [Any])?.count == rows && json["record_count"] as? Int == 926, "\(query)")
            }
            let updated = try await client.deactivate(active[0])
            #expect(!updated.isActive)
            #expect(await simulator.isConfigurationActive(Int(active[0].id)!) == false)
            await simulator.removeAsset(Int(active[1].id)!)
            do throws(PSAError) {
                _ = try await client.deactivate(active[1])
                Issue.record("expected ConfigNotFound")
            } catch {
                #expect(error.code == .configNotFound)
            }
            #expect(await simulator.createdAssets.isEmpty, "a POST for a vanished asset would have created a new one")
        }
    }

    /// Halo's token scopes are checked per route: reading assets needs `read:assets` (or
    /// `edit:assets`), writing them `edit:assets`; `all` allows everything.
    @Test func eachRouteNeedsItsScope() async throws {
        try await withSimulator(configure: { $0.scope = "read:customers read:assets"; $0.batchSize = 1 }) { simulator, client, _ in
            let listed = try await client.listConfigurations(companyID: "12", includeArchived: false)
            let first = try #require(listed.first)
            do throws(PSAError) {
                _ = try await client.deactivate(first)
                Issue.record("expected PermissionDenied")
            } catch {
                #expect(error.code == .permissionDenied && error.httpStatus == 403)
            }
            #expect(await simulator.isConfigurationActive(Int(first.id)!) == true)
        }
        try await withSimulator(configure: { $0.scope = "read:customers" }) { _, client, _ in
            _ = try await client.findCompany(.id("12"))
            do throws(PSAError) {
                _ = try await client.listConfigurations(companyID: "12", includeArchived: false)
                Issue.record("expected PermissionDenied")
            } catch {
                #expect(error.code == .permissionDenied)
            }
        }
    }

    /// A token taken by hand from the simulator's token endpoint, scope `all`.
    static func token(from server: SimulatorServer) async throws -> String {
        let credentials = HaloSimulator.Credentials.sandbox
        var tokenRequest = HTTPClientRequest(url: server.baseURL + "/auth/token?tenant=sandbox")
        tokenRequest.method = .POST
        tokenRequest.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        tokenRequest.body = .bytes(
            ByteBuffer(string: "grant_type=client_credentials&client_id=\(credentials.clientID)&client_secret=\(credentials.clientSecret)&scope=all"))
        let tokenResponse = try await HTTPClient.shared.execute(tokenRequest, timeout: .seconds(10))
        let tokenBody = try await tokenResponse.body.collect(upTo: 1 << 16)
        return try #require((try JSONSerialization.jsonObject(with: Data(tokenBody.readableBytesView)) as? [String: Any])?["access_token"] as? String)
    }

    /// Hosted Halo's limit as the reference leaves it: the token endpoint counts and can answer
    /// 429, no `Retry-After` is promised, and a refused request is a request that fills the window.
    @Test func theRollingLimitCountsTokensAndRefusalsAndSaysNotWhenToComeBack() async throws {
        try await withSimulator { simulator, _, server in
            await simulator.setRollingLimit(maxRequests: 3, window: .seconds(30))
            let token = try await Self.token(from: server)
            var request = HTTPClientRequest(url: server.baseURL + "/api/Client/12")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code == 200)
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code == 200)
            let refused = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(refused.status.code == 429 && refused.headers["Retry-After"].isEmpty)
            await #expect(throws: (any Error).self, "the token endpoint is limited too") { _ = try await Self.token(from: server) }
            #expect(await simulator.rateLimited == 2)
        }
        try await withSimulator { simulator, _, server in
            // Two per rolling 3 s. The token at 0 and a call at 1.5 s fill it; a call refused at
            // 1.5 s counts too, so at 3.2 s, with the token aged out, the window is still full.
            await simulator.setRollingLimit(maxRequests: 2, window: .seconds(3))
            let start = ContinuousClock.now
            let token = try await Self.token(from: server)
            var request = HTTPClientRequest(url: server.baseURL + "/api/Client/12")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            try await Task.sleep(until: start + .milliseconds(1_500), clock: .continuous)
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code == 200)
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code == 429)
            try await Task.sleep(until: start + .milliseconds(3_200), clock: .continuous)
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code == 429, "a refused request counts")
        }
    }

    @Test func aTokenSentTwiceIsRefused() async throws {
        try await withSimulator { _, _, server in
            let token = try await Self.token(from: server)
            var request = HTTPClientRequest(url: server.baseURL + "/api/Client/12")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code == 200)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code == 401)
        }
    }

    @Test(arguments: [
        ("POST", "/auth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-client-secret&scope=all", 400),
        ("POST", "/auth/token?tenant=sandbox", "application/json", "{}", 400),
        ("POST", "/auth/token?tenant=sandbox", "application/x-www-form-urlencoded", "grant_type=password&client_id=sandbox-client&client_secret=sandbox-client-secret&scope=all", 400),
        ("POST", "/auth/token?tenant=sandbox", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-client-secret&scope=all", 200),
        ("GET", "/api/Asset?client_id=12&pageinate=true&page_size=1001&page_no=1", nil, nil, 401),
    ] as [(String, String, String?, String?, Int)])
    func simulatorIsStrictAboutTokens(method: String, path: String, contentType: String?, body: String?, expected: Int) async throws {
        try await withSimulator { _, _, server in
            var request = HTTPClientRequest(url: server.baseURL + path)
            request.method = HTTPMethod(rawValue: method)
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(Int(response.status.code) == expected)
        }
    }

    @Test(arguments: [
        ("GET", "/api/Asset?client_id=12&pageinate=true&page_size=1001&page_no=1", nil as String?, 400),
        ("GET", "/api/Asset?client_id=12&pageinate=true&page_size=10&page_no=0", nil, 400),
        ("GET", "/api/Asset/999999", nil, 404),
        ("GET", "/api/Client/999999", nil, 404),
        ("POST", "/api/Asset", #"{"id":1201,"inactive":true}"#, 400),
        ("POST", "/api/Asset", #"[{"id":1201,"inactive":1}]"#, 400),
        ("POST", "/api/Asset", #"[{"id":1201,"inactive":true,"client_id":3}]"#, 400),
        ("POST", "/api/Asset", #"[{"id":1201,"inactive":true}]"#, 201),
    ] as [(String, String, String?, Int)])
    func simulatorIsStrictAboutTheAPI(method: String, path: String, body: String?, expected: Int) async throws {
        try await withSimulator { _, _, server in
            let token = try await Self.token(from: server)

            var request = HTTPClientRequest(url: server.baseURL + path)
            request.method = HTTPMethod(rawValue: method)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(Int(response.status.code) == expected)
        }
    }
}

/// Pacing against a simulator that enforces hosted Halo's rolling limit: with the client's own
/// limit the offboarding collects no 429s; without it (and without learning the rate, one asset a
/// request), it runs into them.
@Suite(.timeLimit(.minutes(2)))
struct HaloPacingTests {

    /// HaloPSA's default `max_in_flight` (8) holds over every client of the process: two clients
    /// at once, each allowed 8 updates in flight, never have more than 8 requests at the simulator,
    /// which now counts them, through a connection pool wide enough not to be the bound itself.
    @Test func twoClientsAtOnceStayWithinTheDefaultInFlightBound() async throws {
        var data = HaloDataset.empty()
        data.clients = [.init(id: 1, name: "A", inactive: true), .init(id: 2, name: "B", inactive: true)]
        data.assets = (1...48).map { .init(id: $0, clientID: $0 <= 24 ? 1 : 2, inventoryNumber: "a\($0)", inactive: false) }
        let simulator = HaloSimulator(data: data)
        await simulator.setLatency(.milliseconds(100))
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        let httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)))
        let credentials = HaloSimulator.Credentials.sandbox
        let client = HaloClient(
            configuration: .init(
                baseURL: server.baseURL, authURL: server.baseURL + HaloSimulator.authPath, clientID: credentials.clientID,
                clientSecret: credentials.clientSecret, tenant: credentials.tenant, batchSize: 1),
            httpClient: httpClient, logger: .test())
        #expect(HaloClient.Configuration.defaultHTTP.maxInFlight == 8, "the default this test holds the PSA to")
        let offboarder = Offboarder(psa: client, logger: .test())
        async let one = offboarder.run(.init(eventID: "one", trigger: .manual, client: .id("1"), options: .init(offboardedStatuses: ["Inactive"])))
        async let two = offboarder.run(.init(eventID: "two", trigger: .manual, client: .id("2"), options: .init(offboardedStatuses: ["Inactive"])))
        let results = await [one, two]
        let peak = await simulator.maxConcurrentRequests
        try await httpClient.shutdown()
        await server.stop()
        #expect(results.allSatisfy { $0.success && $0.statistics.configsDeactivated == 24 }, "\(results.map(\.statistics))")
        #expect(peak <= 8, "\(peak) requests at once")
        // And the bound is reached, so that it is the bound that held (16 updates were allowed).
        #expect(peak >= 6, "\(peak) requests at once")
    }
    func offboard(pacing: RequestRateLimiter.Limit?) async throws -> (rateLimited: Int, result: OffboardingResult) {
        var data = HaloDataset.empty()
        data.clients = [.init(id: 1, name: "A", inactive: true)]
        data.assets = (1...8).map { .init(id: $0, clientID: 1, inventoryNumber: "a\($0)", inactive: false) }
        let simulator = HaloSimulator(data: data)
        await simulator.setRollingLimit(maxRequests: 6, window: .seconds(1))
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        let credentials = HaloSimulator.Credentials.sandbox
        var http = PSAHTTPTransport.Configuration(maxAttempts: 10, maxRetryAfter: .seconds(5), adaptive: nil)
        http.rateLimit = pacing
        let client = HaloClient(
            configuration: .init(
                baseURL: server.baseURL, authURL: server.baseURL + HaloSimulator.authPath, clientID: credentials.clientID,
                clientSecret: credentials.clientSecret, tenant: credentials.tenant, batchSize: 1, http: http),
            httpClient: .shared, logger: .test())
        let result = await Offboarder(psa: client, logger: .test())
            .run(.init(eventID: "e", trigger: .manual, client: .id("1"), options: .init(offboardedStatuses: ["Inactive"])))
        let rateLimited = await simulator.rateLimited
        await server.stop()
        return (rateLimited, result)
    }

    @Test func aPacedOffboardingCollectsNo429s() async throws {
        // 8 assets: a client read, a listing, a GET and a POST each, the read-back and the checks:
        // over 20 requests against 6 a second, paced at exactly the PSA's own limit. Unpaced, the
        // eight lanes' first GETs go out together and alone exceed the limit however slowly a
        // loaded machine then answers them (with 10 a second and slow answers, a run was seen
        // spreading its requests so thin that it met no 429).
        let paced = try await offboard(pacing: .init(maxRequests: 6, per: .seconds(1)))
        #expect(paced.result.success && paced.result.statistics.configsDeactivated == 8)
        #expect(paced.rateLimited == 0)
        let unpaced = try await offboard(pacing: nil)
        #expect(unpaced.result.statistics.configsDeactivated == 8, "429s are honoured and repeated")
        #expect(unpaced.rateLimited > 0)
    }
}
