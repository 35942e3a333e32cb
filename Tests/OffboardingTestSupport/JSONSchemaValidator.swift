import Foundation
import OffboardingCore

/// Validates JSON documents against the repository's schemas/ files. It implements the JSON Schema
/// 2020-12 keywords those files use (type, required, properties, additionalProperties, enum,
/// const, items, $ref into $defs, minLength, maxLength, minimum, minItems, maxItems, oneOf, pattern,
/// format date-time)
/// and fails loudly on any other keyword, so a schema cannot silently outgrow it.
public struct JSONSchemaValidator: Sendable {
    private let root: JSONValue

    public init(schemaFile name: String) throws {
        let url = Self.schemasDirectory.appendingPathComponent(name)
        root = try JSONValue.parse(Array(try Data(contentsOf: url)), limits: .result)
    }

    /// `schemas/` at the repository root, found from this file's location.
    public static var schemasDirectory: URL { Repository.file("schemas") }

    /// A validator whose `$ref`s resolve inside `document` (an OpenAPI document, say).
    public init(document: JSONValue) {
        root = document
    }

    /// The problems found when validating against `schema`, a part of the document.
    public func problems(in bytes: [UInt8], schema: JSONValue) -> [String] {
        guard let document = try? JSONValue.parse(bytes, limits: .result) else { return ["not JSON"] }
        var problems: [String] = []
        validate(document, against: schema, at: "$", problems: &problems)
        return problems
    }

    /// The problems found; empty when the document is valid.
    public func problems(in bytes: [UInt8]) -> [String] {
        guard let document = try? JSONValue.parse(bytes, limits: .result) else { return ["not JSON"] }
        var problems: [String] = []
        validate(document, against: root, at: "$", problems: &problems)
        return problems
    }

    private func resolve(_ schema: JSONValue) -> JSONValue {
        guard case .object(let fields) = schema, case .string(let ref)? = fields["$ref"] else { return schema }
        var node = root
        for part in ref.dropFirst(2).split(separator: "/") {
            guard case .object(let children) = node, let child = children[String(part)] else { return .null }
            node = child
        }
        return resolve(node)
    }

    private static let known: Set = [
        "$schema", "$id", "$defs", "$ref", "title", "description", "type", "required", "properties", "additionalProperties", "enum",
        "const", "items", "minLength", "maxLength", "minimum", "minItems", "maxItems", "oneOf", "pattern", "format",
    ]

    private func validate(_ value: JSONValue, against schema: JSONValue, at path: String, problems: inout [String]) {
        guard case .object(let rules) = resolve(schema) else {
            problems.append("\(path): schema is not an object")
            return
        }
        for key in rules.keys where !Self.known.contains(key) {
            problems.append("\(path): the test validator does not implement \(key)")
        }
        if case .string(let type)? = rules["type"], !Self.matches(value, type: type) {
            problems.append("\(path): expected \(type)")
        }
        if case .array(let types)? = rules["type"] {
            let names = types.compactMap { if case .string(let name) = $0 { name } else { nil } }
            if !names.contains(where: { Self.matches(value, type: $0) }) { problems.append("\(path): expected one of \(names)") }
        }
        if case .array(let options)? = rules["enum"], !options.contains(value) { problems.append("\(path): \(value) is not allowed") }
        if let constant = rules["const"], constant != value { problems.append("\(path): must be \(constant)") }
        if case .array(let alternatives)? = rules["oneOf"] {
            let passing = alternatives.filter { alternative in
                var inner: [String] = []
                validate(value, against: alternative, at: path, problems: &inner)
                return inner.isEmpty
            }
            if passing.count != 1 { problems.append("\(path): matches \(passing.count) of oneOf") }
        }
        if case .string(let text) = value {
            if case .number(let minimum)? = rules["minLength"], Double(text.count) < minimum { problems.append("\(path): too short") }
            if case .number(let maximum)? = rules["maxLength"], Double(text.count) > maximum { problems.append("\(path): too long") }
            if case .string(let pattern)? = rules["pattern"], text.range(of: pattern, options: .regularExpression) == nil {
                problems.append("\(path): does not match \(pattern)")
            }
            if case .string("date-time")? = rules["format"],
                (try? Date.ISO8601FormatStyle(includingFractionalSeconds: false).parse(text)) == nil
            {
                problems.append("\(path): \(text) is not a date-time")
            }
        }
        if case .number(let number) = value, case .number(let minimum)? = rules["minimum"], number < minimum {
            problems.append("\(path): below \(minimum)")
        }
        if case .object(let fields) = value {
            if case .array(let required)? = rules["required"] {
                for case .string(let key) in required where fields[key] == nil { problems.append("\(path): \(key) is missing") }
            }
            let properties: [String: JSONValue]
            if case .object(let declared)? = rules["properties"] { properties = declared } else { properties = [:] }
            for (key, child) in fields {
                if let childSchema = properties[key] {
                    validate(child, against: childSchema, at: "\(path).\(key)", problems: &problems)
                } else if case .bool(false)? = rules["additionalProperties"] {
                    problems.append("\(path): \(key) is not allowed")
                }
            }
        }
        if case .array(let items) = value {
            if case .number(let minimum)? = rules["minItems"], Double(items.count) < minimum { problems.append("\(path): too few items") }
            if case .number(let maximum)? = rules["maxItems"], Double(items.count) > maximum { problems.append("\(path): too many items") }
            if let itemSchema = rules["items"] {
                for (index, item) in items.enumerated() { validate(item, against: itemSchema, at: "\(path)[\(index)]", problems: &problems) }
            }
        }
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null), ("number", .number): true
        case ("integer", .number(let number)): number == number.rounded()
        default: false
        }
    }
}
