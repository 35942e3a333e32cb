import Foundation

/// The result record's JSON, as the contract and schemas/result.schema.json describe it.
public enum ResultEncoding {
    public static func encode(_ result: OffboardingResult, pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(result))
    }

    public static func decode(_ bytes: [UInt8]) throws -> OffboardingResult {
        try JSONLimits.result.check(bytes)
        return try JSONDecoder().decode(OffboardingResult.self, from: Data(bytes))
    }
}
