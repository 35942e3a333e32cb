import OffboardingCore
import OffboardingService

/// Decodes a result record after checking it against `schemas/result.schema.json`, so that every
/// result a test looks at is also a schema check.
public enum ValidatedResult {
    public struct SchemaViolation: Error, CustomStringConvertible {
        public var description: String
    }

    private static let validator = Result { try JSONSchemaValidator(schemaFile: "result.schema.json") }

    public static func decode(_ bytes: [UInt8]) throws -> OffboardingResult {
        let problems = try validator.get().problems(in: bytes)
        guard problems.isEmpty else {
            throw SchemaViolation(description: "result does not match schemas/result.schema.json: \(problems)")
        }
        return try ResultEncoding.decode(bytes)
    }
}
