import Foundation
import PropertyBased
import Testing

@testable import PSASimulators

/// The simulators' own JSON writer says what Foundation's would: the same graph, read back.
@Suite struct SimulatorJSONTextTests {
    /// Any bytes as text: quotes, backslashes, control characters and invalid UTF-8 (read as U+FFFD).
    static let text = Gen.uint8().array(of: 0...24).map { String(decoding: $0, as: UTF8.self) }

    @Test func whatItWritesReadsBackAsTheGraphItWasGiven() async {
        let ids = Gen.int(in: -9_007_199_254_740_991...9_007_199_254_740_991)
        await propertyCheck(input: Self.text.array(of: 1...6), ids.array(of: 1...6), Gen.bool.array(of: 1...6)) { texts, numbers, flags in
            var row: [String: Any] = [:]
            for (index, key) in texts.enumerated() {
                switch index % 4 {
                case 0: row[key] = numbers[index % numbers.count]
                case 1: row[key] = flags[index % flags.count]
                case 2: row[key] = ["id": numbers[0], "name": key]
                default: row[key] = NSNull()
                }
            }
            let graph: [String: Any] = ["rows": [row, ["nested": row, "texts": texts, "empty": [Any](), "none": [String: Any]()]], "share": 0.25]
            let written = try #require(JSONText.bytes(graph))
            let read = try JSONSerialization.jsonObject(with: Data(written))
            let expected = try #require(Self.sorted(graph))
            #expect(Self.sorted(read) == expected, "\(String(decoding: written, as: UTF8.self))")
        }
    }

    @Test func somethingJSONCannotSayIsRefusedNotWritten() {
        #expect(JSONText.bytes(["rate": Double.nan]) == nil)
        #expect(JSONText.bytes([Date()]) == nil)
    }

    private static func sorted(_ graph: Any) -> String? {
        (try? JSONSerialization.data(withJSONObject: graph, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) }
    }
}
