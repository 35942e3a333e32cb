import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OffboardingCore
import OffboardingTestSupport
import PSAConnectWise
import PSASimulators
import Testing

/// The ConnectWise adapter against the simulator over HTTP, and the simulator's strictness.
@Suite(.timeLimit(.minutes(2)))
struct ConnectWiseClientTests {
    func withSimulator(
        _ data: ConnectWiseDataset = .sample(), configure: (inout ConnectWiseClient.Configuration) -> Void = { _ in },
        _ body: (ConnectWiseSimulator, ConnectWiseClient, SimulatorServer) async throws -> Void
    ) async throws {
        let simulator = ConnectWiseSimulator(data: data)
        try await SimulatorServer.serving(simulator) { server in
            let credentials = ConnectWiseSimulator.Credentials.sandbox
            var configuration = ConnectWiseClient.Configuration(
                baseURL: server.baseURL + ConnectWiseSimulator.apiPath, companyID: credentials.companyID, publicKey: credentials.publicKey,
                privateKey: credentials.privateKey, clientID: credentials.clientID)
            configure(&configuration)
            try await body(simulator, ConnectWiseClient(configuration: configuration, httpClient: .shared, logger: .test()), server)
        }
    }

    @Test func findsCompaniesByIdAndByExactName() async throws {
        try await withSimulator { _, client, _ in
            let byID = try await client.findCompany(.id("12345"))
            #expect(byID == PSACompany(id: "12345", name: "Example Client", status: "Offboarded", types: ["Client"]))
            let byName = try await client.findCompany(.name("Northwind Traders"))
            #expect(byName.id == "23456")
            do throws(PSAError) {
                _ = try await client.findCompany(.name("Northwind"))
                Issue.record("a partial name must not match")
            } catch {
                #expect(error.code == .clientNotFound)
            }
            do throws(PSAError) {
                _ = try await client.findCompany(.id("424242"))
                Issue.record("expected ClientNotFound")
            } catch {
                #expect(error.code == .clientNotFound && error.httpStatus == 404)
            }
        }
    }

    /// No company is 0 or below, nor has a second spelling: such an id is refused before a request carries it.
    @Test(arguments: ["0", "-1", "+12345"])
    func aCompanyIdThatNamesNoCompanyIsNotListed(companyID: String) async throws {
        try await withSimulator { simulator, client, _ in
            let (error, requests) = await client.listingFailure(companyID: companyID, tenant: simulator)
            #expect(error?.code == .clientNotFound && requests == 0, "\(String(describing: error))")
        }
    }

    @Test func namesWithQuotesSurviveTheConditionsGrammar() async throws {
        var data = ConnectWiseDataset.empty()
        data.companies = [.init(id: 7, identifier: "Q", name: #"Bob's "Best" \ Co"#, status: ConnectWiseDataset.offboardedCompanyStatus)]
        try await withSimulator(data) { _, client, _ in
            let company = try await client.findCompany(.name(#"Bob's "Best" \ Co"#))
            #expect(company.id == "7")
        }
    }

    @Test func wrongCredentialsAreAConnectionErrorNotSilence() async throws {
        try await withSimulator(configure: { $0.privateKey = "wrong" }) { _, client, _ in
            do throws(PSAError) {
                _ = try await client.findCompany(.id("12345"))
                Issue.record("expected a failure")
            } catch {
                #expect(error.code == .psaConnectionError && error.httpStatus == 401)
            }
        }
    }

    @Test func listsEveryPageAndDeactivatesWithTheClosedStatus() async throws {
        var data = ConnectWiseDataset.empty()
        data.companies = [.init(id: 1, identifier: "A", name: "A", status: ConnectWiseDataset.offboardedCompanyStatus)]
        data.configurations = (1...2_345).map { .init(id: $0, name: "c\($0)", companyID: 1, statusID: $0 % 10 == 0 ? 4 : 1) }
        try await withSimulator(data) { simulator, client, _ in
            let active = try await client.listConfigurations(companyID: "1", includeArchived: false)
            #expect(active.count == 2_345 - 234)
            let all = try await client.listConfigurations(companyID: "1", includeArchived: true)
            #expect(all.count == 2_345)
            #expect(all.filter { !$0.isActive }.allSatisfy { $0.psaStatus == "Retired" })
            let requests = await simulator.requestCount
            #expect(requests == 1 + 3 + 3, "statuses once, then three pages of 1000 per listing")
            let updated = try await client.deactivate(active[0])
            #expect(!updated.isActive && updated.psaStatus == "Inactive")
        }
    }

    @Test func aConfiguredInactiveStatusNameWins() async throws {
        try await withSimulator(configure: { $0.inactiveStatusName = "retired" }) { simulator, client, _ in
            let configs = try await client.listConfigurations(companyID: "23456", includeArchived: false)
            let config = try #require(configs.first)
            _ = try await client.deactivate(config)
            #expect(await simulator.statusID(ofConfiguration: Int(config.id)!) == 4)
        }
    }

    @Test func retriesAfterRetryAfterAndMapsUpdateErrors() async throws {
        try await withSimulator { simulator, client, _ in
            let configs = try await client.listConfigurations(companyID: "12345", includeArchived: false)
            await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(configs[0].id)", status: 429, retryAfterSeconds: 0, times: 2))
            let updated = try await client.deactivate(configs[0])
            #expect(updated.isActive == false)
            // A 500 is repeated in place; one that persists is a failed update worth a later retry,
            // while a 400 (the request itself is wrong) is final at once.
            await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(configs[1].id)", status: 500, times: 1))
            #expect(try await client.deactivate(configs[1]).isActive == false)
            await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(configs[3].id)", status: 500, times: nil))
            do throws(PSAError) {
                _ = try await client.deactivate(configs[3])
                Issue.record("expected ConfigUpdateFailed")
            } catch {
                #expect(error.code == .configUpdateFailed && error.httpStatus == 500 && error.isRetriable)
            }
            await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(configs[4].id)", status: 400, times: 1))
            let before = await simulator.requestCount
            do throws(PSAError) {
                _ = try await client.deactivate(configs[4])
                Issue.record("expected ConfigUpdateFailed")
            } catch {
                #expect(error.code == .configUpdateFailed && error.httpStatus == 400 && !error.isRetriable)
            }
            #expect(await simulator.requestCount - before == 1)
            await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(configs[2].id)", status: 403, times: 1))
            do throws(PSAError) {
                _ = try await client.deactivate(configs[2])
                Issue.record("expected PermissionDenied")
            } catch {
                #expect(error.code == .permissionDenied)
            }
            var missing = configs[3]
            missing.id = "999999"
            do throws(PSAError) {
                _ = try await client.deactivate(missing)
                Issue.record("expected ConfigNotFound")
            } catch {
                #expect(error.code == .configNotFound)
            }
        }
    }

    @Test(arguments: [
        ("GET", "/v4_6_release/apis/3.0/company/companies/12345", [("Authorization", "basic")], nil as String?, 401),
        ("GET", "/v4_6_release/apis/3.0/company/companies/12345", [("clientId", "x")], nil, 401),
        ("GET", "/v2019_1/apis/3.0/company/companies/12345", [], nil, 404),
        ("GET", "/v4_6_release/apis/3.0/company/companies/abc", [], nil, 400),
        ("GET", "/v4_6_release/apis/3.0/company/configurations?conditions=company%2Fid%3D1%20or%20id%3D2", [], nil, 400),
        ("GET", "/v4_6_release/apis/3.0/company/configurations?conditions=owner%3D1", [], nil, 400),
        ("GET", "/v4_6_release/apis/3.0/company/configurations?conditions=name%3DBob", [], nil, 400),
        ("GET", "/v4_6_release/apis/3.0/company/configurations?pageSize=1001", [], nil, 400),
        ("PATCH", "/v4_6_release/apis/3.0/company/configurations/12345001", [], #"[{"op":"replace","path":"status","value":{"id":3}}]"#, 415),
        ("PATCH", "/v4_6_release/apis/3.0/company/configurations/12345001", [("Content-Type", "application/json")], #"{"op":"replace"}"#, 400),
        ("PATCH", "/v4_6_release/apis/3.0/company/configurations/12345001", [("Content-Type", "application/json")], #"[{"op":"replace","path":"name","value":"x"}]"#, 400),
        ("PATCH", "/v4_6_release/apis/3.0/company/configurations/12345001", [("Content-Type", "application/json")], #"[{"op":"replace","path":"status","value":{"id":99}}]"#, 400),
        ("PATCH", "/v4_6_release/apis/3.0/company/configurations/12345001", [("Content-Type", "application/json")], #"[{"op":"move","path":"status","value":{"id":3}}]"#, 400),
        ("PATCH", "/v4_6_release/apis/3.0/company/configurations/12345001", [("Content-Type", "application/json")], #"[{"op":"replace","path":"status","value":{"id":3}}]"#, 200),
        ("DELETE", "/v4_6_release/apis/3.0/company/configurations/12345001", [], nil, 405),
    ] as [(String, String, [(String, String)], String?, Int)])
    func simulatorIsStrict(method: String, path: String, headers: [(String, String)], body: String?, expected: Int) async throws {
        try await withSimulator { _, _, server in
            let credentials = ConnectWiseSimulator.Credentials.sandbox
            var request = HTTPClientRequest(url: server.baseURL + path)
            request.method = HTTPMethod(rawValue: method)
            let auth = Data("\(credentials.companyID)+\(credentials.publicKey):\(credentials.privateKey)".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(auth)")
            request.headers.add(name: "clientId", value: credentials.clientID)
            for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(Int(response.status.code) == expected)
            let bytes = try await response.body.collect(upTo: 1 << 20)
            if expected >= 400 {
                let json = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
                #expect(json?["code"] is String && json?["message"] is String, "ConnectWise error bodies carry code and message")
            }
        }
    }

    /// Two sets of credentials are refused even when both are right: which one would be meant?
    @Test(arguments: ["Authorization", "clientId"])
    func credentialsSentTwiceAreRefused(header: String) async throws {
        try await withSimulator { _, _, server in
            let credentials = ConnectWiseSimulator.Credentials.sandbox
            let auth = "Basic " + Data("\(credentials.companyID)+\(credentials.publicKey):\(credentials.privateKey)".utf8).base64EncodedString()
            var request = HTTPClientRequest(url: server.baseURL + ConnectWiseSimulator.apiPath + "/company/companies/12345")
            request.headers.add(name: "Authorization", value: auth)
            request.headers.add(name: "clientId", value: credentials.clientID)
            let once = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(once.status.code == 200)
            request.headers.add(name: header, value: header == "clientId" ? credentials.clientID : auth)
            let twice = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(twice.status.code == 400)
        }
    }

    /// A `Link: rel=next` on another origin is not followed: the listing fails, saying why, and the
    /// other origin never sees a request (the credentials would go with it).
    @Test func aPagingLinkToAnotherOriginIsNotFollowed() async throws {
        try await expectPagingLinkToAnotherOriginNotFollowed { otherHost in
            try await withSimulator(configure: { $0.pageSize = 5 }) { simulator, client, _ in
                await simulator.linkPages(to: otherHost)
                _ = try await client.listConfigurations(companyID: "12345", includeArchived: false)
            }
        }
    }

    /// The bound is on requests in flight: a write told to come back in a second holds no place,
    /// so with one place others are written while it waits.
    @Test func aWriteWaitingToBeRepeatedHoldsNoPlace() async throws {
        try await withSimulator(configure: { $0.http.adaptive = nil }) { simulator, client, _ in
            let configs = try await client.listConfigurations(companyID: "12345", includeArchived: false)
            let waiting = try #require(configs.first.flatMap { Int($0.id) })
            await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "configurations/\(waiting)", status: 429, retryAfterSeconds: 1, times: 1))
            let offboarder = Offboarder(psa: client, configuration: .init(maxConcurrentUpdates: 1), logger: .test())
            let result = await offboarder.run(.init(eventID: "e", trigger: .manual, client: .id("12345"), options: .init(offboardedStatuses: ["Offboarded"])))
            #expect(result.statistics.configsDeactivated == 18)
            // With its place held while it waited, the one place would have written nothing else
            // first; a loaded machine may fit only some of the seventeen into the second.
            let written = await simulator.patches(forCompany: 12345).map(\.configurationID)
            #expect(written.count == 18 && (written.firstIndex(of: waiting) ?? 0) >= 1, "written in the order \(written); \(waiting) waited")
        }
    }

    @Test func deactivationsOfOneClientRunConcurrentlyUnderTheBound() async throws {
        // Without the pacer's start-up ramp, which at 100 requests a second would keep fewer in flight.
        try await withSimulator(configure: { $0.http.adaptive = nil }) { simulator, client, _ in
            // Long enough that a loaded machine still gets the fourth request out while three are in
            // the simulator (at 30 ms a CI run once saw a peak of 3).
            await simulator.setLatency(.milliseconds(200))
            let offboarder = Offboarder(psa: client, configuration: .init(maxConcurrentUpdates: 4), logger: .test())
            let result = await offboarder.run(.init(eventID: "e", trigger: .manual, client: .id("12345"), options: .init(offboardedStatuses: ["Offboarded"])))
            #expect(result.statistics.configsDeactivated == 18)
            let peak = await simulator.maxConcurrentRequests
            #expect(peak == 4, "18 updates with a bound of 4 should keep exactly 4 in flight at the peak")
        }
    }
}
