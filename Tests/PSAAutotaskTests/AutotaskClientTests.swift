import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OffboardingCore
import OffboardingTestSupport
import PSAAutotask
import PSASimulators
import Testing

@Suite(.timeLimit(.minutes(2)))
struct AutotaskClientTests {
    func withSimulator(
        _ data: AutotaskDataset = .sample(), configure: (inout AutotaskClient.Configuration) -> Void = { _ in },
        _ body: (AutotaskSimulator, AutotaskClient, SimulatorServer) async throws -> Void
    ) async throws {
        let simulator = AutotaskSimulator(data: data)
        // A pool wider than async-http-client's default 8 per host, so that only the adapter limits concurrency.
        let httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)))
        do {
            try await SimulatorServer.serving(simulator) { server in
                let credentials = AutotaskSimulator.Credentials.sandbox
                var configuration = AutotaskClient.Configuration(
                    baseURL: server.baseURL + AutotaskSimulator.apiPath, apiIntegrationCode: credentials.apiIntegrationCode,
                    username: credentials.username, secret: credentials.secret)
                configure(&configuration)
                try await body(simulator, AutotaskClient(configuration: configuration, httpClient: httpClient, logger: .test()), server)
            }
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    @Test func discoversTheZoneWhenNoBaseURLIsConfigured() async throws {
        try await withSimulator { _, _, server in
            let credentials = AutotaskSimulator.Credentials.sandbox
            func client(user: String) -> AutotaskClient {
                AutotaskClient(
                    configuration: .init(
                        baseURL: nil, zoneInformationURL: server.baseURL + AutotaskSimulator.apiPath + "/zoneInformation",
                        apiIntegrationCode: credentials.apiIntegrationCode, username: user, secret: credentials.secret),
                    httpClient: .shared, logger: .test())
            }
            let company = try await client(user: credentials.username).findCompany(.id("29683001"))
            #expect(company.name == "Example Client")
            do throws(PSAError) {
                _ = try await client(user: "nobody@example.com").findCompany(.id("29683001"))
                Issue.record("an unknown API user has no zone")
            } catch {
                #expect(error.code == .psaConnectionError)
            }
        }
    }

    @Test func companiesByIdAndNameWithStatusAndTypeLabel() async throws {
        try await withSimulator { _, client, _ in
            let inactive = try await client.findCompany(.id("29683001"))
            #expect(inactive.status == "Inactive" && inactive.labels == ["Customer"])
            let cancelled = try await client.findCompany(.name("Tailspin Toys"))
            #expect(cancelled.id == "29683002" && cancelled.status == "Active" && cancelled.labels == ["Cancelation"])
            do throws(PSAError) {
                _ = try await client.findCompany(.id("424242"))
                Issue.record("expected ClientNotFound")
            } catch {
                #expect(error.code == .clientNotFound, "Autotask's {\"item\": null} is not found")
            }
            // The type label works as an offboarding criterion.
            let result = await Offboarder(psa: client, logger: .test()).run(
                .init(eventID: "e", trigger: .manual, client: .id("29683002"), options: .init(dryRun: true, offboardedStatuses: ["cancelation"])))
            #expect(result.success && result.configs.count == 4 && result.warnings.isEmpty)
        }
    }

    /// No company is 0 or below, nor has a second spelling: such an id is refused before a request carries it.
    @Test(arguments: ["0", "-1", "+29683001"])
    func aCompanyIdThatNamesNoCompanyIsNotListed(companyID: String) async throws {
        try await withSimulator { simulator, client, _ in
            let (error, requests) = await client.listingFailure(companyID: companyID, tenant: simulator)
            #expect(error?.code == .clientNotFound && requests == 0, "\(String(describing: error))")
        }
    }

    @Test func neverMoreThanThreeRequestsInFlightPerEndpoint() async throws {
        var data = AutotaskDataset.empty()
        data.companies = [.init(id: 1, companyName: "A", isActive: false)]
        data.configurationItems = (1...60).map { .init(id: $0, companyID: 1, referenceTitle: "c\($0)", isActive: true) }
        // Not paced, so that the thread limit alone bounds the work: the pacer's start-up ramp kept
        // a loaded machine's run below three at once, and the bound was never reached.
        try await withSimulator(data, configure: { $0.http.adaptive = nil }) { simulator, client, _ in
            await simulator.setLatency(.milliseconds(20))
            let result = await Offboarder(psa: client, configuration: .init(maxConcurrentUpdates: 16), logger: .test())
                .run(.init(eventID: "e", trigger: .manual, client: .id("1"), options: .init(offboardedStatuses: ["Inactive"])))
            #expect(result.success && result.statistics.configsDeactivated == 60)
            let most = await simulator.maxInFlightPerEndpoint
            #expect(most == 3, "at most \(most) requests at once on one endpoint")
            #expect(await simulator.threadLimitErrors == 0)
        }
    }

    @Test func theThreadLimitErrorIsSlowDownNotFailure() async throws {
        var data = AutotaskDataset.empty()
        data.companies = [.init(id: 1, companyName: "A", isActive: false)]
        data.configurationItems = (1...30).map { .init(id: $0, companyID: 1, referenceTitle: "c\($0)", isActive: true) }
        // A client wrongly allowed 8 threads runs into the limit, and still finishes every item.
        try await withSimulator(data, configure: { $0.threadsPerEndpoint = 8; $0.http.maxAttempts = 20 }) { simulator, client, _ in
            await simulator.setLatency(.milliseconds(20))
            let result = await Offboarder(psa: client, configuration: .init(maxConcurrentUpdates: 8), logger: .test())
                .run(.init(eventID: "e", trigger: .manual, client: .id("1"), options: .init(offboardedStatuses: ["Inactive"])))
            #expect(await simulator.threadLimitErrors > 0)
            #expect(result.success && result.statistics.configsDeactivated == 30)
            // The thread-limit error is Autotask's "slow down": the pacer heard it.
            #expect((client.pacing?.slowDowns ?? 0) > 0, "\(String(describing: client.pacing))")
        }
    }

    @Test(arguments: ["ApiIntegrationCode", "UserName", "Secret"])
    func credentialsSentTwiceAreRefused(header: String) async throws {
        try await withSimulator { _, _, server in
            let credentials = AutotaskSimulator.Credentials.sandbox
            let values = ["ApiIntegrationCode": credentials.apiIntegrationCode, "UserName": credentials.username, "Secret": credentials.secret]
            var request = HTTPClientRequest(url: server.baseURL + AutotaskSimulator.apiPath + "/Companies/29683001")
            for (name, value) in values.sorted(by: { $0.key < $1.key }) { request.headers.add(name: name, value: value) }
            let once = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(once.status.code == 200)
            request.headers.add(name: header, value: values[header]!)
            let twice = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(twice.status.code == 401)
        }
    }

    /// A next-page link on another origin is not followed: the listing fails, saying why, and the
    /// other origin never sees a request (the credentials would go with it).
    @Test func aPagingLinkToAnotherOriginIsNotFollowed() async throws {
        var data = AutotaskDataset.empty()
        data.companies = [.init(id: 1, companyName: "A", isActive: false)]
        data.configurationItems = (1...5).map { .init(id: $0, companyID: 1, referenceTitle: "c\($0)", isActive: true) }
        try await expectPagingLinkToAnotherOriginNotFollowed { otherHost in
            try await withSimulator(data, configure: { $0.pageSize = 2 }) { simulator, client, _ in
                await simulator.linkPages(to: otherHost)
                _ = try await client.listConfigurations(companyID: "1", includeArchived: true)
            }
        }
    }

    /// A query names the fields it wants and gets those (and the id) only, on every page: a field
    /// the adapter does not ask for is not there to read.
    @Test func aQueryAnswersTheFieldsItAskedForOnly() async throws {
        var data = AutotaskDataset.empty()
        data.companies = [.init(id: 1, companyName: "A", isActive: false)]
        data.configurationItems = (1...3).map { .init(id: $0, companyID: 1, referenceTitle: "c\($0)", isActive: true) }
        try await withSimulator(data) { _, _, server in
            let credentials = AutotaskSimulator.Credentials.sandbox
            func query(_ body: String) async throws -> [[String: Any]] {
                var request = HTTPClientRequest(url: server.baseURL + AutotaskSimulator.apiPath + "/ConfigurationItems/query")
                request.method = .POST
                for (name, value) in [("ApiIntegrationCode", credentials.apiIntegrationCode), ("UserName", credentials.username), ("Secret", credentials.secret)] {
                    request.headers.add(name: name, value: value)
                }
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                #expect(response.status.code == 200)
                let bytes = try await response.body.collect(upTo: 1 << 20)
                return try #require((try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any])?["items"] as? [[String: Any]])
            }
            let filter = #""filter": [{"op": "eq", "field": "companyID", "value": 1}]"#
            let narrow = try await query(#"{"IncludeFields": ["referenceTitle"], \#(filter)}"#)
            #expect(narrow.count == 3 && narrow.allSatisfy { Set($0.keys) == ["id", "referenceTitle"] }, "\(narrow)")
            let whole = try await query("{\(filter)}")
            #expect(whole.allSatisfy { $0["companyID"] != nil && $0["isActive"] != nil }, "without IncludeFields every field")
        }
    }

    /// Past half of its hourly threshold Autotask slows every call down (usage-based latency): the
    /// default configuration reads that as "slow down" before any 429; without the signal, nothing slows.
    @Test(arguments: [true, false])
    func usageBasedLatencySlowsThePacerBeforeAny429(readsLatency: Bool) async throws {
        var data = AutotaskDataset.empty()
        data.companies = [.init(id: 1, companyName: "A", isActive: false)]
        data.configurationItems = (1...40).map { .init(id: $0, companyID: 1, referenceTitle: "c\($0)", isActive: true) }
        try await withSimulator(data, configure: { if !readsLatency { $0.http.adaptive?.latencySignal = nil } }) { simulator, client, _ in
            // 60 requests an hour: past 30 every call takes 450 ms more. Without notes (each would
            // be a request of its own) the offboarding fits in the hour.
            await simulator.setRequestThreshold(60, latencyAtHalf: .milliseconds(450), latencyAtThreeQuarters: .milliseconds(450))
            let result = await Offboarder(psa: client, configuration: .init(writeReasonToNotes: false), logger: .test())
                .run(.init(eventID: "e", trigger: .manual, client: .id("1"), options: .init(offboardedStatuses: ["Inactive"])))
            #expect(result.success && result.statistics.configsDeactivated == 40)
            #expect(await simulator.rateLimited == 0)
            let slowDowns = client.pacing?.slowDowns ?? 0
            #expect(readsLatency ? slowDowns > 0 : slowDowns == 0, "\(String(describing: client.pacing))")
        }
    }

    @Test func listsEveryPageAndMapsErrors() async throws {
        var data = AutotaskDataset.empty()
        data.companies = [.init(id: 1, companyName: "A", isActive: false)]
        data.configurationItems = (1...1_234).map { .init(id: $0, companyID: 1, referenceTitle: "c\($0)", isActive: $0 % 5 != 0) }
        try await withSimulator(data) { simulator, client, _ in
            #expect(try await client.listConfigurations(companyID: "1", includeArchived: true).count == 1_234)
            let active = try await client.listConfigurations(companyID: "1", includeArchived: false)
            #expect(active.count == 1_234 - 246 && active.allSatisfy(\.isActive))
            // A 500 is repeated in place (a business rule's 500 too: it fails the same way each time,
            // and is reported once the attempts are spent, still marked worth a later retry).
            await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "\"id\":\(active[0].id),", status: 500, times: 1))
            #expect(try await client.deactivate(active[0]).isActive == false)
            await simulator.inject(SimulatorFault(method: "PATCH", pathContains: "\"id\":\(active[2].id),", status: 500, times: nil))
            do throws(PSAError) {
                _ = try await client.deactivate(active[2])
                Issue.record("expected ConfigUpdateFailed")
            } catch {
                #expect(error.code == .configUpdateFailed && error.message.contains("Injected fault") && error.isRetriable)
            }
            #expect(await simulator.isConfigurationActive(Int(active[2].id)!) == true)
            var missing = active[1]
            missing.id = "999999"
            do throws(PSAError) {
                _ = try await client.deactivate(missing)
                Issue.record("expected ConfigUpdateFailed")
            } catch {
                #expect(error.code == .configUpdateFailed && error.message.contains("does not exist"))
            }
        }
        try await withSimulator(configure: { $0.secret = "wrong" }) { _, client, _ in
            do throws(PSAError) {
                _ = try await client.findCompany(.id("29683001"))
                Issue.record("expected a failure")
            } catch {
                #expect(error.code == .psaConnectionError && error.httpStatus == 401)
            }
        }
    }

    @Test(arguments: [
        ("POST", "/atservicesrest/v1.0/ConfigurationItems/query", #"{"MaxRecords":501,"filter":[{"op":"eq","field":"companyID","value":1}]}"#, 500),
        ("POST", "/atservicesrest/v1.0/ConfigurationItems/query", #"{"filter":[{"op":"eq","field":"company","value":1}]}"#, 500),
        ("POST", "/atservicesrest/v1.0/ConfigurationItems/query", #"{"filter":[]}"#, 500),
        ("POST", "/atservicesrest/v1.0/ConfigurationItems/query", #"{"filter":[{"op":"like","field":"companyID","value":1}]}"#, 500),
        ("PATCH", "/atservicesrest/v1.0/ConfigurationItems", #"{"id":29683001001,"isActive":0}"#, 500),
        ("PATCH", "/atservicesrest/v1.0/ConfigurationItems", #"{"id":29683001001,"isActive":false,"companyID":2}"#, 500),
        ("PATCH", "/atservicesrest/v1.0/ConfigurationItems/29683001001", #"{"isActive":false}"#, 404),
        ("GET", "/atservicesrest/v1.0/ConfigurationItems/query/next?paging=forged", nil as String?, 500),
        ("PATCH", "/atservicesrest/v1.0/ConfigurationItems", #"{"id":29683001001,"isActive":false}"#, 200),
    ] as [(String, String, String?, Int)])
    func simulatorIsStrict(method: String, path: String, body: String?, expected: Int) async throws {
        try await withSimulator { _, _, server in
            let credentials = AutotaskSimulator.Credentials.sandbox
            var request = HTTPClientRequest(url: server.baseURL + path)
            request.method = HTTPMethod(rawValue: method)
            request.headers.add(name: "ApiIntegrationCode", value: credentials.apiIntegrationCode)
            request.headers.add(name: "UserName", value: credentials.username)
            request.headers.add(name: "Secret", value: credentials.secret)
            request.headers.add(name: "Content-Type", value: "application/json")
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(Int(response.status.code) == expected)
            let bytes = try await response.body.collect(upTo: 1 << 20)
            if expected >= 400 {
                let json = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
                #expect((json?["errors"] as? [String])?.isEmpty == false, "Autotask error bodies are {\"errors\": [...]}")
            }
        }
    }
}
