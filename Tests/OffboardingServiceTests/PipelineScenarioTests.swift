import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// End to end through the real consumer pipeline: events on the mock cluster, the ConnectWise
/// simulator over HTTP, results read back from the results topic.
@Suite(.timeLimit(.minutes(5)))
struct PipelineScenarioTests {
    let schema: JSONSchemaValidator

    init() throws {
        schema = try JSONSchemaValidator(schemaFile: "result.schema.json")
    }

    private func checked(_ record: KafkaRecord) {
        #expect(schema.problems(in: record.value ?? []) == [])
    }

    @Test func offboardingDeactivatesEveryConfigurationOverSeveralPages() async throws {
        let harness = try await PipelineHarness.shared.value
        let company = await harness.makeCompany(active: 1_500)
        let event = harness.event(for: company, options: .init(reason: "Contract ended"))
        try await harness.send(event)

        let (record, result) = try await harness.result(for: event.id)
        checked(record)
        #expect(record.keyString == String(company.id))
        #expect(result.success)
        #expect(result.trigger == .event)
        #expect(result.eventID == event.id)
        #expect(result.reason == "Contract ended")
        #expect(result.statistics == .init(configsFound: 1_500, configsDeactivated: 1_500, configsSkipped: 0, errors: 0))
        #expect(result.configs.count == 1_500)
        #expect(result.configs.allSatisfy { $0.action == .deactivated && $0.status == .inactive && $0.previousStatus == .active })

        let patches = await harness.simulator.patches(forCompany: company.id)
        #expect(patches.count == 1_500)
        #expect(Set(patches.map(\.configurationID)).count == 1_500)
        let inactiveID = ConnectWiseDataset.inactiveConfigurationStatus.id
        for patch in patches {
            let body = try JSONSerialization.jsonObject(with: Data(patch.body.utf8)) as? [[String: Any]]
            #expect(body?.count == 1)
            #expect(body?.first?["op"] as? String == "replace")
            #expect(body?.first?["path"] as? String == "status")
            #expect((body?.first?["value"] as? [String: Any])?["id"] as? Int == inactiveID)
        }
        for index in 1...1_500 {
            #expect(await harness.simulator.statusID(ofConfiguration: company.id * 10_000 + index) == inactiveID)
        }
        #expect(harness.results(for: event.id).count == 1)
    }

    @Test func dryRunChangesNothingAndListsEveryConfiguration() async throws {
        let harness = try await PipelineHarness.shared.value
        let company = await harness.makeCompany(active: 30)
        let event = harness.event(for: company, options: .init(dryRun: true))
        try await harness.send(event, binary: true)

        let (record, result) = try await harness.result(for: event.id)
        checked(record)
        #expect(result.success && result.dryRun)
        #expect(result.statistics == .init(configsFound: 30, configsDeactivated: 0, configsSkipped: 0, errors: 0))
        #expect(result.configs.count == 30)
        #expect(result.configs.allSatisfy { $0.action == .wouldDeactivate && $0.status == .active })
        #expect(await harness.simulator.patches(forCompany: company.id).isEmpty)
    }

    @Test func statusThatIsNotOffboardedIsFilteredWithoutPSAWriteOrResult() async throws {
        let harness = try await PipelineHarness.shared.value
        let company = await harness.makeCompany(active: 5)
        let filtered = harness.event(for: company, status: "Active")
        // Same key, same lane: once the marker's result is in, the filtered event has been handled.
        let marker = harness.event(for: company, options: .init(dryRun: true))
        try await harness.send(filtered)
        try await harness.send(marker)

        _ = try await harness.result(for: marker.id)
        #expect(harness.results(for: filtered.id).isEmpty)
        #expect(await harness.simulator.patches(forCompany: company.id).isEmpty)
    }

    @Test func staleEventChangesNothingAndWarns() async throws {
        let harness = try await PipelineHarness.shared.value
        let company = await harness.makeCompany(status: ConnectWiseDataset.activeCompanyStatus, active: 4)
        let event = harness.event(for: company, status: "Offboarded")
        try await harness.send(event)

        let (record, result) = try await harness.result(for: event.id)
        checked(record)
        #expect(result.success)
        #expect(result.statistics.configsDeactivated == 0)
        #expect(result.warnings.map(\.code) == [.clientNotOffboarded])
        #expect(await harness.simulator.patches(forCompany: company.id).isEmpty)
    }

    @Test func inactiveConfigurationsAreSkippedAndListedOnlyWithIncludeArchived() async throws {
        let harness = try await PipelineHarness.shared.value
        let company = await harness.makeCompany(active: 3, inactive: 2)
        let without = harness.event(for: company, options: .init(dryRun: true))
        try await harness.send(without)
        let withoutResult = try await harness.result(for: without.id).result
        #expect(withoutResult.statistics.configsFound == 3)
        #expect(withoutResult.configs.allSatisfy { $0.previousStatus == .active })

        let with = harness.event(for: company, options: .init(includeArchived: true))
        try await harness.send(with)
        let (record, result) = try await harness.result(for: with.id)
        checked(record)
        #expect(result.success)
        #expect(result.statistics == .init(configsFound: 5, configsDeactivated: 3, configsSkipped: 2, errors: 0))
        #expect(result.configs.filter { $0.action == .skipped }.map(\.configID).sorted() == ["\(company.id * 10_000 + 4)", "\(company.id * 10_000 + 5)"])
        #expect(await harness.simulator.patches(forCompany: company.id).count == 3)
    }

    @Test func unknownClientIsAFailureResultWithClientNotFound() async throws {
        let harness = try await PipelineHarness.shared.value
        let ghost = ConnectWiseDataset.Company(id: 990_001, identifier: "Ghost", name: "Ghost", status: ConnectWiseDataset.offboardedCompanyStatus)
        let event = harness.event(for: ghost)
        try await harness.send(event)
        let (record, result) = try await harness.result(for: event.id)
        checked(record)
        #expect(!result.success)
        #expect(result.errors.map(\.code) == [.clientNotFound])
        #expect(result.clientID == "990001")
    }

    @Test func forbiddenConfigurationListingIsAFailureResultWithPermissionDenied() async throws {
        let harness = try await PipelineHarness.shared.value
        let company = await harness.makeCompany(active: 3)
        await harness.simulator.inject(SimulatorFault(method: "GET", pathContains: "company/id=\(company.id)", status: 403, times: nil))
        let event = harness.event(for: company)
        try await harness.send(event)
        let (record, result) = try await harness.result(for: event.id)
        checked(record)
        #expect(!result.success)
        #expect(result.errors.map(\.code) == [.permissionDenied])
        #expect(await harness.simulator.patches(forCompany: company.id).isEmpty)
    }

    @Test func rateLimitedListingIsRetriedAfterRetryAfter() async throws {
        let harness = try await PipelineHarness.shared.value
        let company = await harness.makeCompany(active: 6)
        await harness.simulator.inject(SimulatorFault(method: "GET", pathContains: "company/id=\(company.id)", status: 429, retryAfterSeconds: 1, times: 2))
        let event = harness.event(for: company)
        try await harness.send(event)
        let result = try await harness.result(for: event.id).result
        #expect(result.success)
        #expect(result.statistics.configsDeactivated == 6)
    }

    @Test func badRecordsGoToTheDeadLetterTopicAndTheConsumerKeepsGoing() async throws {
        let harness = try await PipelineHarness.shared.value
        let company = await harness.makeCompany(active: 2)
        let valid = harness.event(for: company)
        func structured(_ mutate: (inout [String: Any]) -> Void) -> [UInt8] {
            var document = try! JSONSerialization.jsonObject(with: Data(CloudEventEncoder.structured(valid).value)) as! [String: Any]
            mutate(&document)
            return Array(try! JSONSerialization.data(withJSONObject: document))
        }
        func data(_ mutate: (inout [String: Any]) -> Void) -> [UInt8] {
            structured { document in
                var data = document["data"] as! [String: Any]
                mutate(&data)
                document["data"] = data
            }
        }
        let marker = "dlq-\(company.id)"
        let bad: [(String, [UInt8]?, [(String, String)], String)] = [
            ("not JSON", Array("{\"specversion\":".utf8), [], "InvalidEvent"),
            ("no value", nil, [], "InvalidEvent"),
            ("not UTF-8", [0xFF, 0xFE, 0x7B], [], "InvalidEvent"),
            ("array", Array("[1,2]".utf8), [], "InvalidEvent"),
            ("wrong specversion", structured { $0["specversion"] = "0.3" }, [], "InvalidEvent"),
            ("missing id", structured { $0["id"] = nil }, [], "InvalidEvent"),
            ("wrong type", structured { $0["type"] = "psa.ticket.created" }, [], "InvalidEvent"),
            ("missing company_id", data { $0["company_id"] = nil }, [], "InvalidEvent"),
            ("status not a string", data { $0["status"] = 5 }, [], "InvalidEvent"),
            ("unknown psa", data { $0["psa"] = "servicenow" }, [], "InvalidEvent"),
            ("misspelled option", data { $0["options"] = ["dryrun": true] }, [], "InvalidEvent"),
            ("option of wrong type", data { $0["options"] = ["dry_run": "yes"] }, [], "InvalidEvent"),
            ("binary mode without ce_id", Array("{\"psa\":\"connectwise\",\"company_id\":\"1\",\"status\":\"Offboarded\"}".utf8),
             [("ce_specversion", "1.0"), ("ce_source", "x"), ("ce_type", CompanyStatusChangedEvent.eventType)], "InvalidEvent"),
            ("another PSA", data { $0["psa"] = "autotask" }, [], "PSAMismatch"),
        ]
        for (name, value, headers, _) in bad {
            try await harness.sendRaw(key: String(company.id), value: value, headers: headers + [("test.case", "\(marker):\(name)")])
        }
        try await harness.send(valid)

        // The valid event behind all of them on the same partition still gets its result.
        let result = try await harness.result(for: valid.id).result
        #expect(result.success && result.statistics.configsDeactivated == 2)
        let letters = try await harness.deadLetters.wait(timeout: .seconds(30), for: "\(bad.count) dead letters") { records in
            records.filter { $0.headers.last(named: "test.case")?.stringValue?.hasPrefix(marker + ":") == true }.count >= bad.count
        }.filter { $0.headers.last(named: "test.case")?.stringValue?.hasPrefix(marker + ":") == true }
        #expect(letters.count == bad.count)
        for (name, value, _, code) in bad {
            let letter = letters.first { $0.headers.last(named: "test.case")?.stringValue == "\(marker):\(name)" }
            #expect(letter != nil, "\(name) was not dead-lettered")
            #expect(letter?.headers.last(named: "dlq.error.code")?.stringValue == code, "\(name)")
            #expect(letter?.headers.last(named: "dlq.reason")?.stringValue?.isEmpty == false, "\(name)")
            #expect(letter?.headers.last(named: "dlq.source.topic")?.stringValue == PipelineHarness.topics.events)
            #expect(letter?.headers.last(named: "dlq.source.offset").flatMap { $0.stringValue.flatMap(Int64.init) } != nil)
            #expect(letter?.value == value, "\(name): the original value must be kept")
        }
    }
}
