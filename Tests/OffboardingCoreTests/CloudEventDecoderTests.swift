import OffboardingCore
import Testing

@Suite struct CloudEventDecoderTests {
    static let structured = """
        {"specversion":"1.0","id":"5f0c2b1e","source":"psa/connectwise/acme","type":"psa.company.status_changed",
         "time":"2026-01-22T10:30:00Z","datacontenttype":"application/json",
         "data":{"psa":"connectwise","company_id":"12345","company_name":"Example Client","previous_status":"Active",
                 "status":"Offboarded","options":{"dry_run":true,"reason":"Contract ended","offboarded_statuses":["Offboarded"]}}}
        """

    @Test func decodesTheContractsStructuredExample() throws {
        let event = try CloudEventDecoder.decode(value: Array(Self.structured.utf8), headers: ["content-type": "application/cloudevents+json"])
        #expect(event.id == "5f0c2b1e")
        #expect(event.psa == .connectwise)
        #expect(event.companyID == "12345")
        #expect(event.companyName == "Example Client")
        #expect(event.status == "Offboarded")
        #expect(event.options == .init(dryRun: true, reason: "Contract ended", offboardedStatuses: ["Offboarded"]))
    }

    @Test func decodesBinaryModeFromHeaders() throws {
        let event = try CloudEventDecoder.decode(
            value: Array(#"{"psa":"halopsa","company_id":77,"status":"Inactive"}"#.utf8),
            headers: ["ce_specversion": "1.0", "ce_id": "e-1", "ce_source": "s", "ce_type": "psa.company.status_changed", "content-type": "application/json"])
        #expect(event.id == "e-1")
        #expect(event.psa == .halopsa)
        #expect(event.companyID == "77")
        #expect(event.options == .init())
    }

    @Test func encoderAndDecoderAgreeInBothModes() throws {
        let event = CompanyStatusChangedEvent(
            id: "x", source: "s", time: "2026-01-22T10:30:00Z", psa: .autotask, companyID: "9", companyName: "N", previousStatus: "Active",
            status: "Offboarded", options: .init(dryRun: false, requireApproval: true, includeArchived: true, reason: "r", offboardedStatuses: ["A"]))
        for (headers, value) in [CloudEventEncoder.structured(event), CloudEventEncoder.binary(event)] {
            let decoded = try CloudEventDecoder.decode(value: value, headers: Dictionary(uniqueKeysWithValues: headers))
            #expect(decoded == event)
        }
    }

    @Test(arguments: [
        (#"{"specversion":"1.0","id":"","source":"s","type":"psa.company.status_changed","data":{}}"#, "id is empty"),
        (#"{"specversion":"1.0","id":"i","source":"s","type":"psa.company.status_changed","time":"yesterday","data":{}}"#, "time"),
        (#"{"specversion":"1.0","id":"i","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":"1","status":"X","extra":1}}"#, "data.extra"),
        (#"{"specversion":"1.0","id":"i","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":-3,"status":"X"}}"#, "data.company_id"),
        (#"{"specversion":"1.0","id":"i","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":"1","status":"X","options":{"offboarded_statuses":[]}}}"#, "offboarded_statuses"),
    ])
    func rejectsInvalidEventsNamingTheField(json: String, expected: String) {
        #expect {
            _ = try CloudEventDecoder.decode(value: Array(json.utf8), headers: [:])
        } throws: { error in
            (error as? InvalidEventError)?.message.contains(expected) == true
        }
    }

    @Test func aRestoreEventNamesTheOffboardingItUndoesInBothModes() throws {
        let event = CompanyStatusChangedEvent(
            id: "r-1", source: "psa-offboarder/api", psa: .autotask, companyID: "9", status: "Active", options: .init(dryRun: true),
            trigger: .restore, restores: "e-1", requestedBy: "jane")
        for (headers, value) in [CloudEventEncoder.structured(event), CloudEventEncoder.binary(event)] {
            let decoded = try CloudEventDecoder.decode(value: value, headers: Dictionary(headers, uniquingKeysWith: { $1 }))
            #expect(decoded == event)
        }
    }

    @Test(arguments: [
        (#""trigger":"restore","#, "a restore event needs the restores attribute"),
        (#""trigger":"restore","restores":"","#, "a restore event needs the restores attribute"),
        (#""restores":"e-1","#, "restores and requestedby belong to trigger restore, not event"),
        (#""trigger":"api","requestedby":"jane","#, "restores and requestedby belong to trigger restore, not api"),
        (#""trigger":"restore","restores":7,"#, "restores is a number, not a string"),
    ])
    func restoreAttributesAreCheckedAgainstTheTrigger(attributes: String, message: String) throws {
        let value = #"{"specversion":"1.0","id":"x","source":"s","type":"psa.company.status_changed","# + attributes
            + #""data":{"psa":"connectwise","company_id":"1","status":"Active"}}"#
        #expect(throws: InvalidEventError(message)) { try CloudEventDecoder.decode(value: Array(value.utf8), headers: [:]) }
        // The prefilter never vouches for them: the decoder decides.
        #expect(!StatusPrefilter(psa: .connectwise, offboardedStatuses: ["Offboarded"]).isFiltered(Array(value.utf8)))
    }

    @Test func optionsFallBackToDefaultsAndCriteriaIgnoreCase() {
        let defaults = OffboardingOptions(dryRun: true, offboardedStatuses: ["Inactive", "Offboarded"])
        let resolved = OffboardingOptions.Overrides(includeArchived: true).resolved(defaults: defaults)
        #expect(resolved.dryRun && resolved.includeArchived && !resolved.requireApproval)
        #expect(resolved.isOffboarded(status: " offboarded "))
        #expect(!resolved.isOffboarded(status: "Active"))
        let overridden = OffboardingOptions.Overrides(dryRun: false, offboardedStatuses: ["Churned"]).resolved(defaults: defaults)
        #expect(!overridden.dryRun)
        #expect(overridden.isOffboarded(status: "Churned") && !overridden.isOffboarded(status: "Inactive"))
    }
}

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue.parse(Array(#" {"a":[1,-2.5e3,true,false,null],"b":"x\"\u00e9\ud83d\ude00\n","c":{}} "#.utf8), limits: .result)
        #expect(value == .object([
            "a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]),
            "b": .string("x\"é😀\n"), "c": .object([:]),
        ]))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "tru", "\"unterminated", "\"bad \\x escape\"", "{\"a\":1 \"b\":2}",
        "{\"a\":1,\"a\":2}", "\"\\ud800\"", "[1] 2", "{a:1}", "\"tab\there\"", String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func rejectsMalformedJSON(text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(Array(text.utf8), limits: .result) }
    }
}
