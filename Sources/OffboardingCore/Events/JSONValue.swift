import Foundation

/// A parsed JSON document, kept generic so that validation can name exactly which field is wrong.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses strict JSON (RFC 8259; duplicate keys and nesting deeper than 64 are refused).
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw InvalidEventError("not valid JSON")
        }
    }

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue {
    /// Ids in PSA payloads: positive and exactly representable as a JSON number (2^53 - 1).
    public static let idRange: ClosedRange<Int64> = 1...9_007_199_254_740_991

    /// The number as a whole number within `range`, or nil when it is not a number, has a fraction,
    /// or lies outside `range`. Numbers come from outside as doubles, and converting one that is
    /// out of `Int64`'s range traps: every conversion goes through here.
    public func integer(in range: ClosedRange<Int64> = Int64.min...Int64.max) -> Int64? {
        guard case .number(let value) = self, let whole = Int64(exactly: value), range.contains(whole) else { return nil }
        return whole
    }
}
