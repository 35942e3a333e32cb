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

    /// Parses strict JSON (RFC 8259; duplicate keys are refused) within the limits of the input's
    /// kind; the error says which limit a document broke, or that it is not JSON.
    public static func parse(_ bytes: [UInt8], limits: JSONLimits) throws(JSONReadError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes, limits: limits)
        } catch {
            switch error {
            case .syntax: throw .notJSON
            case .limit(let exceeded): throw .exceeded(exceeded)
            }
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

    /// The array's strings, when it is an array of non-empty strings (statuses, configuration ids);
    /// nil for anything else.
    public var nonEmptyStrings: [String]? {
        guard case .array(let items) = self else { return nil }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item, !text.isEmpty else { return nil }
            strings.append(text)
        }
        return strings
    }
}

/// Why a document was not read: it is not JSON, or it is beyond its input's limits.
public enum JSONReadError: Error, Sendable, Hashable {
    case notJSON
    case exceeded(JSONLimitExceeded)

    /// One line naming what was read: "value is not JSON", "the body is refused: it holds more than ...".
    public func message(_ subject: String) -> String {
        switch self {
        case .notJSON: "\(subject) is not JSON"
        case .exceeded(let limit): "\(subject) is refused: \(limit)"
        }
    }
}

extension JSONValue {
    /// The first key, in sorted order, that is not in `known`; nil when there is none. Linear in
    /// the keys: only the unknown ones are compared with each other.
    public static func firstUnknownKey(of fields: [String: JSONValue], known: Set<String>) -> String? {
        fields.keys.filter { !known.contains($0) }.min()
    }
}
