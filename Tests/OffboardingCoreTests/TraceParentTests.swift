import OffboardingCore
import Testing

/// The W3C `traceparent` as events carry it: parsed strictly, and never a reason to lose an event.
@Suite struct TraceParentTests {
    static let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func parsesVersion00AndALaterVersionsFirstFields() throws {
        let parsed = try #require(TraceParent(Self.valid))
        #expect(parsed.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && parsed.parentID == "00f067aa0ba902b7" && parsed.flags == "01")
        #expect(parsed.description == Self.valid)
        let later = try #require(TraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-adds"))
        #expect(later.traceID == parsed.traceID && later.description == Self.valid)
    }

    @Test(arguments: [
        "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    ])
    func refusesWhatTheSpecificationRefuses(text: String) {
        #expect(TraceParent(text) == nil, "\(text)")
    }

    @Test func travelsInBothModesAndABadOneLeavesTheEventIntact() throws {
        let event = CompanyStatusChangedEvent(
            id: "t", source: "s", psa: .connectwise, companyID: "1", status: "Offboarded", traceParent: TraceParent(Self.valid))
        for (headers, value) in [CloudEventEncoder.structured(event), CloudEventEncoder.binary(event)] {
            let map = Dictionary(headers, uniquingKeysWith: { $1 })
            #expect(try CloudEventDecoder.decode(value: value, headers: map).traceParent?.description == Self.valid)
            #expect(CloudEventDecoder.traceParent(value: value, headers: map)?.description == Self.valid)
        }
        let structured = String(decoding: CloudEventEncoder.structured(event).value, as: UTF8.self)
        for bad in [#""traceparent":"not-a-trace""#, #""traceparent":42"#, #""traceparent":null"#] {
            let value = Array(structured.replacingOccurrences(of: #""traceparent":"\#(Self.valid)""#, with: bad).utf8)
            let decoded = try CloudEventDecoder.decode(value: value, headers: [:])
            #expect(decoded.traceParent == nil && decoded.id == "t", "\(bad)")
        }
        // The service's own header wins over the event's attribute: it is the latest hop.
        let own = "00-11111111111111111111111111111111-2222222222222222-01"
        #expect(CloudEventDecoder.traceParent(value: CloudEventEncoder.structured(event).value, headers: ["traceparent": own])?.description == own)
        #expect(CloudEventDecoder.traceParent(value: Array(#"{"id":"x"}"#.utf8), headers: [:]) == nil)
    }
}
