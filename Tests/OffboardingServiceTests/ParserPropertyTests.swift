import Foundation
import OffboardingCore
import OffboardingHTTPAPI
import OffboardingService
import PSAHTTP
import PropertyBased
import Testing

/// Properties of the parsers of outside input, over generated inputs: round trips hold, and
/// numbers of any size are either read exactly within range or refused, never trapped on.
@Suite struct ParserPropertyTests {
    static let word = Gen.letterOrNumber.string(of: 1...12)
    static let anyDouble = Gen.oneOf(
        Gen.double(in: -1e300...1e300).eraseToAnySequence(), Gen.double(in: -1e20...1e20).eraseToAnySequence(),
        Gen.int(in: -1000...10_000_000).map { Double($0) }.eraseToAnySequence())

    @Test func cloudEventsSurviveARoundTripInBothModes() async {
        let options = zip(Gen.bool.optional, Gen.bool.optional, Self.word.optional, Self.word.array(of: 1...3).optional)
        await propertyCheck(input: Self.word, Gen.int(in: 0...9_007_199_254_740_991), Gen<PSAKind>.case, Self.word, options) { id, company, psa, status, options in
            let event = CompanyStatusChangedEvent(
                id: id, source: "psa/test", time: "2026-01-22T10:30:00Z", psa: psa, companyID: String(company), status: status,
                options: .init(dryRun: options.0, requireApproval: options.1, reason: options.2, offboardedStatuses: options.3), trigger: .api)
            let structured = CloudEventEncoder.structured(event)
            let binary = CloudEventEncoder.binary(event)
            func headers(_ pairs: [(String, String)]) -> [String: String] { Dictionary(pairs, uniquingKeysWith: { _, last in last }) }
            #expect((try? CloudEventDecoder.decode(value: structured.value, headers: headers(structured.headers))) == event)
            #expect((try? CloudEventDecoder.decode(value: binary.value, headers: headers(binary.headers))) == event)
        }
    }

    @Test func anyBytesAreAnEventOrAnInvalidEventError() async {
        await propertyCheck(count: 500, input: Gen.uint8().array(of: 0...300)) { bytes in
            do throws(InvalidEventError) {
                _ = try CloudEventDecoder.decode(value: bytes, headers: [:])
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test func numbersAreReadExactlyOrRefused() async {
        await propertyCheck(input: Self.anyDouble) { value in
            if let whole = JSONValue.number(value).integer(in: JSONValue.idRange) {
                #expect(Double(whole) == value && JSONValue.idRange.contains(whole))
            } else {
                #expect(value != value.rounded() || value < 1 || value > 9_007_199_254_740_991)
            }
        }
        await propertyCheck(input: Gen.int64(in: -9_007_199_254_740_991...9_007_199_254_740_991)) { whole in
            #expect(JSONValue.number(Double(whole)).integer() == whole)
        }
    }

    @Test func webhookAndAPIIdsOfAnySizeAreReadOrRefused() async {
        await propertyCheck(input: Self.anyDouble) { id in
            let number = String(describing: id)
            let halo = Array(#"{"id":"d","object_id":\#(number)}"#.utf8)
            let api = Array(#"{"client_id":\#(number)}"#.utf8)
            let inRange = id >= 1 && id <= 9_007_199_254_740_991 && id == id.rounded()
            switch Result(catching: { () throws(WebhookPayloadError) in try HaloWebhookPayload.parse(halo) }) {
            case .success(.notice(let notice)): #expect(inRange && notice.companyID == String(Int64(id)))
            case .success(.ignored): Issue.record("a client webhook is never ignored")
            case .failure: #expect(!inRange)
            }
            let accepted = (try? OffboardingRequestBody.parse(api)) != nil
            #expect(accepted == inRange)
        }
    }

    @Test func retryAfterIsReadWithinADayOrNotAtAll() async {
        await propertyCheck(input: Gen.int(in: 0...86_400)) { seconds in
            #expect(PSAHTTPTransport.retryAfter(String(seconds)) == .seconds(seconds))
        }
        await propertyCheck(input: Self.anyDouble) { value in
            let delay = PSAHTTPTransport.retryAfter(String(describing: value))
            #expect(delay == nil || (delay! >= .zero && delay! <= .seconds(86_400)))
        }
    }

    @Test func durationsInTheConfigurationAreWithinTheirKeysRangeOrRefused() async {
        let units = Gen.element(of: ["ms", "s", "m", "h", "d"])
        await propertyCheck(input: Self.anyDouble, units) { value, unit in
            let yaml = ConfigurationTests.contractExample + "\nretry:\n  budget: \(value)\(unit ?? "s")"
            do {
                let configuration = try OffboarderConfiguration.parse(yaml: yaml, environment: ConfigurationTests.environment)
                #expect(configuration.psa.kind == .connectwise)
                #expect(configuration.psa.http.budget >= .seconds(1) && configuration.psa.http.budget <= .seconds(86_400))
            } catch {
                #expect("\(error)".hasPrefix("retry.budget: "))
            }
        }
    }
}
