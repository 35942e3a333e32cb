import AsyncHTTPClient
import OffboardingCore
import OffboardingTestSupport
import PSAHalo
import PSAHTTP
import PSASimulators
import Testing

/// `POST /api/Asset` with up to `batch_size` assets, against a simulator that validates the whole
/// array first and refuses it with a 400 naming the bad elements, as Halo's field-keyed errors do.
@Suite(.timeLimit(.minutes(2)))
struct HaloBatchTests {
    func withClient(
        assets: Int, batchSize: Int = HaloClient.Configuration.defaultBatchSize,
        _ body: (HaloSimulator, HaloClient, [Int]) async throws -> Void
    ) async throws {
        let simulator = HaloSimulator(data: .empty())
        let ids = await simulator.addClient(id: 400_001, name: "Batch Client", offboarded: true, active: assets, inactive: 0)
        try await SimulatorServer.serving(simulator) { server in
            let credentials = HaloSimulator.Credentials.sandbox
            let client = HaloClient(
                configuration: .init(
                    baseURL: server.baseURL, authURL: server.baseURL + HaloSimulator.authPath, clientID: credentials.clientID,
                    clientSecret: credentials.clientSecret, tenant: credentials.tenant, batchSize: batchSize),
                httpClient: .shared, logger: .test())
            try await body(simulator, client, ids)
        }
    }

    func offboard(_ client: HaloClient) async -> OffboardingResult {
        await Offboarder(psa: client, logger: .test())
            .run(.init(eventID: "batch", trigger: .manual, client: .id("400001"), options: .init(offboardedStatuses: ["Inactive"])))
    }

    @Test func assetsAreWrittenInBatchesOfTheConfiguredSize() async throws {
        try await withClient(assets: 120) { simulator, client, ids in
            let result = await offboard(client)
            #expect(result.success && result.statistics.configsDeactivated == 120 && result.statistics.configsConfirmed == 120)
            #expect(await simulator.assetPostSizes.sorted() == [20, 50, 50])
            for id in ids { #expect(await simulator.isConfigurationActive(id) == false) }
            #expect(await simulator.createdAssets.isEmpty)
        }
    }

    @Test func anAssetHaloRefusesFailsAloneWithItsOwnErrorAndTheRestOfItsBatchIsWritten() async throws {
        try await withClient(assets: 120) { simulator, client, ids in
            let refused = ids[37]
            await simulator.refuseUpdates(ofAsset: refused, message: "Asset is linked to an open contract line")
            let result = await offboard(client)
            #expect(!result.success)
            #expect(result.statistics.configsDeactivated == 119 && result.statistics.errors == 1)
            let error = try #require(result.errors.first)
            #expect(error.configID == String(refused) && error.code == .configUpdateFailed)
            #expect(error.message.contains("open contract line"), "\(error.message)")
            #expect(result.configs.first { $0.configID == String(refused) }?.action == .failed)
            // The refused batch of 50 was sent again without it.
            #expect(await simulator.assetPostSizes.sorted() == [20, 49, 50])
            for id in ids where id != refused { #expect(await simulator.isConfigurationActive(id) == false) }
            #expect(await simulator.isConfigurationActive(refused) == true)
        }
    }

    @Test func aRefusalThatNamesNoElementIsSplitInHalves() async throws {
        try await withClient(assets: 50) { simulator, client, ids in
            await simulator.inject(SimulatorFault(method: "POST", pathContains: "asset", status: 400, times: 1))
            let result = await offboard(client)
            #expect(result.success && result.statistics.configsDeactivated == 50)
            #expect(await simulator.assetPostSizes.sorted() == [25, 25])
            for id in ids { #expect(await simulator.isConfigurationActive(id) == false) }
        }
    }

    @Test func anAssetGoneSinceTheListingIsReportedAndNeverCreated() async throws {
        try await withClient(assets: 10) { simulator, client, ids in
            let listed = try await client.listConfigurations(companyID: "400001", includeArchived: false)
            await simulator.removeAsset(ids[4])
            let outcomes = await client.deactivate(batch: listed, note: nil)
            #expect(outcomes.count == 10)
            for (config, outcome) in zip(listed, outcomes) {
                switch outcome {
                case .success(let updated): #expect(config.id != String(ids[4]) && !updated.isActive)
                case .failure(let error): #expect(config.id == String(ids[4]) && error.code == .configNotFound)
                }
            }
            #expect(await simulator.createdAssets.isEmpty)
            #expect(await simulator.assetPostSizes == [9])
        }
    }

    @Test func anAssetAddedSinceASharedListingIsLookedForAfreshAndWritten() async throws {
        try await withClient(assets: 4) { simulator, client, _ in
            // The first batch leaves a listing of the client behind for the next few seconds.
            let first = try await client.listConfigurations(companyID: "400001", includeArchived: false)
            #expect(await client.deactivate(batch: first, note: nil).allSatisfy { (try? $0.get()) != nil })
            let added = await simulator.addConfigurations(toClient: 400_001, count: 3)
            let second = try await client.listConfigurations(companyID: "400001", includeArchived: false)
            #expect(Set(second.map(\.id)) == Set(added.map(String.init)))
            let outcomes = await client.deactivate(batch: second, note: nil)
            #expect(outcomes.allSatisfy { (try? $0.get()) != nil }, "\(outcomes)")
            for id in added { #expect(await simulator.isConfigurationActive(id) == false) }
        }
    }

    @Test func aBatchWrittenElementByElementUntilARefusalIsReportedAsItHappened() async throws {
        try await withClient(assets: 10) { simulator, client, ids in
            await simulator.setBatchApplication(.elementByElement)
            await simulator.refuseUpdates(ofAsset: ids[4], message: "Asset is linked to an open contract line")
            let result = await offboard(client)
            // The four before the refused one were written by the first POST, and again, unchanged, with the rest.
            #expect(await simulator.assetPostSizes == [4, 9])
            #expect(result.statistics.configsDeactivated == 9 && result.statistics.configsConfirmed == 9 && result.statistics.errors == 1)
            #expect(result.errors.map(\.configID) == [String(ids[4])] && result.errors.first?.message.contains("open contract line") == true)
            for (position, id) in ids.enumerated() {
                let action = result.configs.first { $0.configID == String(id) }?.action
                #expect(action == (position == 4 ? .failed : .deactivated), "\(id): \(String(describing: action))")
                #expect(await simulator.isConfigurationActive(id) == (position == 4))
            }
            // The reason is in the notes of each written asset once, although four were written twice.
            for id in ids where id != ids[4] { #expect(await simulator.noteLines(ofConfiguration: id).count == 1) }
        }
    }

    @Test func aBatchThatFailsHalfwayIsReadBackAndReportsWhatLanded() async throws {
        try await withClient(assets: 10) { simulator, client, ids in
            // Every attempt writes the first four and fails with a 500: the answer never says which landed.
            await simulator.breakBatches(applying: 4, status: 500, times: nil)
            let outcome = await Offboarder(psa: client, logger: .test())
                .runDetailed(.init(eventID: "batch", trigger: .manual, client: .id("400001"), options: .init(offboardedStatuses: ["Inactive"])))
            let result = outcome.result
            #expect(!result.success)
            #expect(result.statistics.configsDeactivated == 4 && result.statistics.configsConfirmed == 4 && result.statistics.errors == 6, "\(result.statistics)")
            for (position, id) in ids.enumerated() {
                let action = result.configs.first { $0.configID == String(id) }?.action
                #expect(action == (position < 4 ? .deactivated : .failed), "\(id): \(String(describing: action))")
                #expect(await simulator.isConfigurationActive(id) == (position >= 4))
            }
            // Only what did not land goes to the retry topic.
            #expect(Set(outcome.retriable.map(\.id)) == Set(ids[4...].map(String.init)))
        }
    }

    @Test func batchSizeOneWritesEachAssetAfterCheckingIt() async throws {
        try await withClient(assets: 6, batchSize: 1) { simulator, client, ids in
            let result = await offboard(client)
            #expect(result.success && result.statistics.configsDeactivated == 6)
            #expect(await simulator.assetPostSizes == [1, 1, 1, 1, 1, 1])
            // Each asset is read on its own just before it is written (Halo creates an unknown id):
            // one GET, then its POST, whatever the order among assets written at once.
            let calls = await simulator.assetCalls
            for id in ids {
                #expect(calls.filter { $0 == "GET \(id)" }.count == 1 && calls.filter { $0 == "POST [\(id)]" }.count == 1, "\(calls)")
                let read = try #require(calls.firstIndex(of: "GET \(id)"), "\(id) never read: \(calls)")
                let written = try #require(calls.firstIndex(of: "POST [\(id)]"))
                #expect(read < written, "\(id) written before it was read: \(calls)")
            }
        }
    }

    @Test func onlyElementsInRangeAreTakenFromARefusal() {
        let body = #"{"[3].inactive": "locked", "[3].id": "odd", "[-1].id": "x", "[99999999999999999999].id": "x", "[7]": "past the end", "[": "x", "id": "no position", "[1].id": 5}"#
        let response = PSAHTTPTransport.Response(status: 400, headers: [:], body: Array(body.utf8))
        let named = HaloClient.refusedElements(response, count: 5)
        #expect(Set(named.keys) == [1, 3])
        #expect(named[3]?.contains("locked") == true && named[3]?.contains("odd") == true)
        #expect(HaloClient.refusedElements(.init(status: 400, headers: [:], body: Array("not json".utf8)), count: 5).isEmpty)
    }
}
