import Foundation
import OffboardingCore
import PropertyBased
import Testing

/// The prefilter may only ever agree with the full decoder: whenever it calls an event filtered,
/// the decoder reads the same bytes as a valid event for this PSA whose status is not offboarded.
@Suite struct StatusPrefilterTests {
    static let offboarded = ["Inactive", "Offboarded", "Cancelation"]
    static let prefilter = StatusPrefilter(psa: .connectwise, offboardedStatuses: offboarded)

    /// What the pipeline decides with the full decoder.
    static func fullVerdict(_ bytes: [UInt8]) -> Bool {
        guard let event = try? CloudEventDecoder.decode(value: bytes, headers: ["content-type": "application/cloudevents+json"]),
            event.psa == .connectwise
        else { return false }
        let reportsStatus = event.trigger == .event || event.trigger == .webhook
        return reportsStatus && !event.options.resolved(defaults: .init(offboardedStatuses: offboarded)).isOffboarded(status: event.status)
    }

    static func event(status: String, trigger: OffboardingTrigger = .event, psa: PSAKind = .connectwise, time: String? = "2026-01-22T10:30:00Z")
        -> [UInt8]
    {
        CloudEventEncoder.structured(
            CompanyStatusChangedEvent(
                id: "e-1", source: "psa/test", time: time, psa: psa, companyID: "42", companyName: "Client 42", previousStatus: "Active",
                status: status, trigger: trigger)
        ).value
    }

    @Test func theCommonStatusChangeIsDecidedByThePrefilter() {
        for status in ["Active", "Prospect", "Not offboarded", "On hold"] {
            #expect(Self.prefilter.isFiltered(Self.event(status: status)), "\(status)")
            #expect(Self.prefilter.isFiltered(Self.event(status: status, time: nil)))
            #expect(Self.prefilter.isFiltered(Self.event(status: status, trigger: .webhook)))
        }
    }

    @Test func offboardingsRequestsAndOtherPSAsAreLeftToTheDecoder() {
        for status in ["Offboarded", "OFFBOARDED", "inactive", "Cancelation"] { #expect(!Self.prefilter.isFiltered(Self.event(status: status))) }
        #expect(!Self.prefilter.isFiltered(Self.event(status: " Active")), "blanks are the criteria's to trim")
        #expect(!Self.prefilter.isFiltered(Self.event(status: "Active", trigger: .api)), "a request always gets a result")
        #expect(!Self.prefilter.isFiltered(Self.event(status: "Active", psa: .halopsa)), "another PSA's event is dead-lettered")
        #expect(!Self.prefilter.isFiltered(Self.event(status: "Active", time: "2026-02-30T10:30:00Z")), "no 30 February")
        #expect(!Self.prefilter.isFiltered(Self.event(status: "Actîve")), "non-ASCII goes to the decoder")
    }

    @Test(arguments: [
        #"{"specversion":"1.0","id":"e","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":"1","status":"Active","extra":1}}"#,
        #"{"specversion":"1.0","id":"e","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":"1","status":"Active"},"id":"again"}"#,
        #"{"specversion":"1.0","id":"","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":"1","status":"Active"}}"#,
        #"{"specversion":"0.3","id":"e","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":"1","status":"Active"}}"#,
        #"{"specversion":"1.0","id":"e","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":"1","status":"Active"}} x"#,
        #"{"specversion":"1.0","id":"e","source":"s","type":"psa.company.status_changed","trigger":"later","data":{"psa":"connectwise","company_id":"1","status":"Active"}}"#,
        #"{"specversion":"1.0","id":"e","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":"1","status":"Active","options":{"dry_run":true}}}"#,
    ])
    func invalidOrUnusualEventsAreNeverFiltered(json: String) {
        #expect(!Self.prefilter.isFiltered(Array(json.utf8)))
    }

    /// The control for the cases above: the same event without the flaw is filtered.
    @Test func theUnflawedEventIsFiltered() {
        let json = #"{"specversion":"1.0","id":"e","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":"1","status":"Active"}}"#
        #expect(Self.prefilter.isFiltered(Array(json.utf8)) && Self.fullVerdict(Array(json.utf8)))
    }

    /// Random damage to filtered events: the prefilter may give up, never disagree.
    @Test func mutatedEventsNeverMakeThePrefilterDisagreeWithTheDecoder() async {
        let statuses = Gen.oneOf(Gen.always("Active"), Gen.always("Offboarded"), Gen.letterOrNumber.string(of: 1...10))
        let edits = zip(Gen.int(in: 0...400), Gen.uint8(), Gen.int(in: 0...2)).array(of: 1...4)
        await propertyCheck(count: 3_000, input: statuses, edits) { status, edits in
            var bytes = Self.event(status: status)
            for (position, byte, kind) in edits {
                let at = min(position, bytes.count)
                switch kind {
                case 0 where at < bytes.count: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                default: if at < bytes.count { bytes.remove(at: at) }
                }
            }
            if Self.prefilter.isFiltered(bytes) {
                #expect(Self.fullVerdict(bytes), "prefilter filtered what the decoder does not: \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        // And undamaged ones agree both ways.
        await propertyCheck(count: 500, input: statuses) { status in
            let bytes = Self.event(status: status)
            #expect(Self.prefilter.isFiltered(bytes) == Self.fullVerdict(bytes))
        }
    }
}
