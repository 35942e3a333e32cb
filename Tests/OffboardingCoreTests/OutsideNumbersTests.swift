import OffboardingCore
import Testing

/// Numbers from outside (JSON bodies, records) that are out of range are bad input, never a trap.
@Suite struct OutsideNumbersTests {
    @Test(arguments: ["1e19", "-1e19", "1e300", "9223372036854775808", "0.5", "-0.0000001", "1.5e2"])
    func aNumberOutOfRangeOrWithAFractionIsNoInteger(text: String) throws {
        let value = try JSONValue.parse(Array(text.utf8), limits: .result)
        #expect(value.integer(in: JSONValue.idRange) == nil || text == "1.5e2")
        #expect(value.integer() == nil || text == "1.5e2")
    }

    @Test func integersWithinRangeAreRead() throws {
        #expect(try JSONValue.parse(Array("9007199254740991".utf8), limits: .result).integer(in: JSONValue.idRange) == 9_007_199_254_740_991)
        #expect(try JSONValue.parse(Array("150".utf8), limits: .result).integer(in: JSONValue.idRange) == 150)
        #expect(try JSONValue.parse(Array("0".utf8), limits: .result).integer(in: JSONValue.idRange) == nil)
        #expect(try JSONValue.parse(Array("-9223372036854775807".utf8), limits: .result).integer() != nil)
        #expect(JSONValue.string("5").integer() == nil)
    }

    @Test(arguments: ["1e19", "-1e19", "1e300", "18446744073709551616", "12.5"])
    func anEventWhoseCompanyIDIsOutOfRangeIsInvalid(number: String) {
        let value = #"{"specversion":"1.0","id":"e","source":"s","type":"psa.company.status_changed","data":{"psa":"connectwise","company_id":\#(number),"status":"Offboarded"}}"#
        #expect(throws: InvalidEventError.self) { try CloudEventDecoder.decode(value: Array(value.utf8), headers: [:]) }
    }

    @Test(arguments: [Int.max, Int.min, 0, 1, 1001])
    func aRetryRequestWithAnAttemptOutOfRangeIsInvalid(attempt: Int) {
        let value = #"{"event_id":"e","trigger":"event","psa":"connectwise","client_id":"1","offboarded_statuses":["Offboarded"],"attempt":\#(attempt),"configs":[{"config_id":"1","config_name":"x"}]}"#
        #expect(throws: InvalidEventError.self) { try RetryRequest.decode(Array(value.utf8)) }
    }

    @Test func aRetryRequestWithinRangeIsRead() throws {
        let value = #"{"event_id":"e","trigger":"event","psa":"connectwise","client_id":"1","offboarded_statuses":["Offboarded"],"attempt":1000,"configs":[{"config_id":"1","config_name":"x"}]}"#
        #expect(try RetryRequest.decode(Array(value.utf8)).attempt == 1000)
    }
}
