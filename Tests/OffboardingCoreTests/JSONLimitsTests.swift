import OffboardingCore
import Testing

/// Every document from outside is read under the limits of its kind: past a limit it is refused,
/// naming the limit, both by the parser that builds values (events, API bodies, webhooks) and by
/// the one-pass check in front of Foundation's decoder (records, results, PSA answers).
@Suite struct JSONLimitsTests {
    let limits = JSONLimits(bytes: 4096, depth: 4, values: 10)

    func array(_ count: Int) -> [UInt8] { Array(("[" + Array(repeating: "1", count: count).joined(separator: ",") + "]").utf8) }

    func both(_ bytes: [UInt8]) -> (parse: JSONReadError?, check: JSONLimitExceeded?) {
        var parseError: JSONReadError?
        do { _ = try JSONValue.parse(bytes, limits: limits) } catch { parseError = error }
        var checkError: JSONLimitExceeded?
        do { try limits.check(bytes) } catch { checkError = error }
        return (parseError, checkError)
    }

    @Test func valuesAreCountedWithTheDocumentItself() {
        // The array and nine numbers are ten values; ten numbers are eleven.
        #expect(both(array(9)).parse == nil)
        #expect(both(array(9)).check == nil)
        #expect(both(array(10)).parse == .exceeded(.values(10)))
        #expect(both(array(10)).check == .values(10))
    }

    @Test func keysCountAsValues() {
        let five = Array(#"{"a":1,"b":2,"c":3,"d":4,"e":5}"#.utf8)
        #expect(both(five).parse == .exceeded(.values(10)), "an object, five keys and five values are eleven")
        #expect(both(five).check == .values(10))
    }

    @Test func depthIsBounded() {
        #expect(both(Array("[[[[]]]]".utf8)).parse == nil)
        #expect(both(Array("[[[[]]]]".utf8)).check == nil)
        #expect(both(Array("[[[[[]]]]]".utf8)).parse == .exceeded(.depth(4)))
        #expect(both(Array("[[[[[]]]]]".utf8)).check == .depth(4))
    }

    @Test func bytesAreBounded() {
        let large = Array(("\"" + String(repeating: "x", count: 4095) + "\"").utf8)
        #expect(both(large).parse == .exceeded(.bytes(4096)))
        #expect(both(large).check == .bytes(4096))
    }

    @Test func numbersAreBoundedInLength() {
        let sixtyFour = Array(String(repeating: "1", count: JSONLimits.numberLength).utf8)
        let sixtyFive = Array(String(repeating: "1", count: JSONLimits.numberLength + 1).utf8)
        #expect(both(sixtyFour).parse == nil)
        #expect(both(sixtyFour).check == nil)
        #expect(both(sixtyFive).parse == .exceeded(.number(JSONLimits.numberLength)))
        #expect(both(sixtyFive).check == .number(JSONLimits.numberLength))
    }

    @Test func whatAStringHoldsIsNotCounted() {
        // Brackets, quotes and digits inside a string (escaped quotes too) open nothing.
        let text = Array(#"["[[[[[ \" 1,2,3,4,5,6,7,8,9,10,11 {{{{"]"#.utf8)
        #expect(both(text).parse == nil)
        #expect(both(text).check == nil)
    }

    @Test func theRefusalNamesTheLimit() {
        #expect(JSONReadError.exceeded(.values(4096)).message("value") == "value is refused: it holds more than 4096 keys and values")
        #expect(JSONReadError.notJSON.message("the body") == "the body is not JSON")
    }

    @Test func anEventBeyondItsLimitIsAnInvalidEventNamingIt() {
        var value = Array(#"{"specversion":"1.0","id":"e","source":"s","type":"psa.company.status_changed","#.utf8)
        for key in 0..<5000 { value += Array(#""k\#(key)":1,"#.utf8) }
        value += Array(#""data":{"psa":"connectwise","company_id":"1","status":"Active"}}"#.utf8)
        #expect(throws: InvalidEventError("value is refused: it holds more than 4096 keys and values")) {
            try CloudEventDecoder.decode(value: value, headers: [:])
        }
    }

    @Test func thePrefilterVouchesForSixteenExtensionsAndLeavesMoreToTheDecoder() throws {
        let prefilter = StatusPrefilter(psa: .connectwise, offboardedStatuses: ["Offboarded"])
        func event(extensions: Int) -> [UInt8] {
            var value = Array(#"{"specversion":"1.0","id":"e","source":"s","type":"psa.company.status_changed","#.utf8)
            for key in 0..<extensions { value += Array(#""x\#(key)":"v","#.utf8) }
            return value + Array(#""data":{"psa":"connectwise","company_id":"1","status":"Active"}}"#.utf8)
        }
        #expect(prefilter.isFiltered(event(extensions: StatusPrefilter.maxExtensions)))
        #expect(!prefilter.isFiltered(event(extensions: StatusPrefilter.maxExtensions + 1)))
        // The decoder still reads it: an event with many extensions is valid, and filtered there.
        let decoded = try CloudEventDecoder.decode(value: event(extensions: StatusPrefilter.maxExtensions + 1), headers: [:])
        #expect(decoded.status == "Active")
    }
}
