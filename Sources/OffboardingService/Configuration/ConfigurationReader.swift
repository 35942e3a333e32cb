import Foundation
import OffboardingCore
import Yams

/// Reads one YAML mapping strictly: values are typed, `${NAME}` and `${file:PATH}` are expanded in
/// every string, and `finish()` rejects any key that was not read.
final class ConfigurationReader {
    let path: String
    private let pairs: [(key: String, value: Node)]
    private var read: Set<String> = []
    private let environment: [String: String]

    static func load(yaml: String, environment: [String: String]) throws(ConfigurationError) -> ConfigurationReader {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            let oneLine = "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            throw ConfigurationError(key: "", "the file is not valid YAML: \(oneLine)")
        }
        guard let root else { throw ConfigurationError(key: "", "the file is empty") }
        return try ConfigurationReader(node: root, path: "", environment: environment)
    }

    init(node: Node, path: String, environment: [String: String]) throws(ConfigurationError) {
        guard case .mapping(let mapping) = node else {
            throw ConfigurationError(key: path, "must be a mapping of keys to values")
        }
        var pairs: [(key: String, value: Node)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else { throw ConfigurationError(key: path, "keys must be plain strings") }
            if pairs.contains(where: { $0.key == scalar.string }) {
                throw ConfigurationError(key: Self.join(path, scalar.string), "appears twice")
            }
            pairs.append((scalar.string, value))
        }
        self.pairs = pairs
        self.path = path
        self.environment = environment
    }

    private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func keyPath(_ key: String) -> String { Self.join(path, key) }

    private func node(_ key: String) -> Node? {
        read.insert(key)
        guard let node = pairs.first(where: { $0.key == key })?.value else { return nil }
        if case .scalar(let scalar) = node, scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
            return nil
        }
        return node
    }

    func contains(_ key: String) -> Bool { pairs.contains { $0.key == key } }

    func section(_ key: String) throws(ConfigurationError) -> ConfigurationReader? {
        guard let node = node(key) else { return nil }
        return try ConfigurationReader(node: node, path: keyPath(key), environment: environment)
    }

    func requiredSection(_ key: String) throws(ConfigurationError) -> ConfigurationReader {
        guard let section = try section(key) else { throw ConfigurationError(key: keyPath(key), "is required") }
        return section
    }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node else { throw ConfigurationError(key: keyPath(key), "must be a string") }
        return try expand(scalar.string, key: keyPath(key))
    }

    func requiredString(_ key: String) throws(ConfigurationError) -> String {
        guard let value = try string(key), !value.isEmpty else { throw ConfigurationError(key: keyPath(key), "is required") }
        return value
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ConfigurationError(key: keyPath(key), "must be true or false, not \"\(text)\"")
        }
    }

    func int(_ key: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = try string(key) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(key: keyPath(key), "must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    /// The longest duration any key takes: beyond it, arithmetic on durations (doubling backoffs,
    /// nanosecond timeouts) could overflow.
    static let longestDuration = Duration.seconds(366 * 86_400)

    /// A duration written as a number and a unit (`250ms`, `30s`, `5m`, `1h`, `3d`) within `range`.
    func duration(_ key: String, range: ClosedRange<Duration> = .zero...longestDuration) throws(ConfigurationError) -> Duration? {
        guard let text = try string(key) else { return nil }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (unit, scale) in units where text.hasSuffix(unit) {
            guard let value = Double(text.dropLast(unit.count)), value.isFinite else { break }
            // Checked as a double first: converting an out-of-range one to a duration traps.
            let seconds = value * scale
            guard seconds >= range.lowerBound.seconds, seconds <= range.upperBound.seconds else {
                throw ConfigurationError(
                    key: keyPath(key), "must be from \(Self.text(range.lowerBound)) to \(Self.text(range.upperBound)), not \"\(text)\"")
            }
            return .milliseconds(Int64((seconds * 1000).rounded()))
        }
        throw ConfigurationError(key: keyPath(key), "must be a duration such as 250ms, 30s, 5m, 1h or 3d, not \"\(text)\"")
    }

    /// A bound as it would be written in the file.
    static func text(_ duration: Duration) -> String {
        let milliseconds = Int64((duration.seconds * 1000).rounded())
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where milliseconds >= size && milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return milliseconds == 0 ? "0s" : "\(milliseconds)ms"
    }

    func stringList(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let sequence) = node else { throw ConfigurationError(key: keyPath(key), "must be a list") }
        var values: [String] = []
        for (index, item) in sequence.enumerated() {
            guard case .scalar(let scalar) = item else { throw ConfigurationError(key: "\(keyPath(key))[\(index)]", "must be a string") }
            values.append(try expand(scalar.string, key: "\(keyPath(key))[\(index)]"))
        }
        return values
    }

    /// A list of mappings, each read as a section of its own (`key[0]`, `key[1]`, ...).
    func sectionList(_ key: String) throws(ConfigurationError) -> [ConfigurationReader]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let sequence) = node else { throw ConfigurationError(key: keyPath(key), "must be a list") }
        var sections: [ConfigurationReader] = []
        for (index, item) in sequence.enumerated() {
            sections.append(try ConfigurationReader(node: item, path: "\(keyPath(key))[\(index)]", environment: environment))
        }
        return sections
    }

    /// A mapping of free-form string keys (such as librdkafka properties) to scalar values.
    func stringMap(_ key: String) throws(ConfigurationError) -> [String: String] {
        guard let section = try section(key) else { return [:] }
        var result: [String: String] = [:]
        for pair in section.pairs {
            guard case .scalar(let scalar) = pair.value else {
                throw ConfigurationError(key: section.keyPath(pair.key), "must be a single value")
            }
            result[pair.key] = try expand(scalar.string, key: section.keyPath(pair.key))
        }
        return result
    }

    /// Fails on the first key not in `keys`; called before reading a section so that a typo is
    /// reported as such rather than as the missing key it was meant to be.
    @discardableResult
    func allowing(_ keys: Set<String>) throws(ConfigurationError) -> ConfigurationReader {
        if let unknown = pairs.first(where: { !keys.contains($0.key) }) {
            throw ConfigurationError(key: keyPath(unknown.key), "is not a known key")
        }
        return self
    }

    /// Fails on the first key nobody read: a typo must not silently fall back to a default.
    func finish() throws(ConfigurationError) {
        if let unknown = pairs.first(where: { !read.contains($0.key) }) {
            throw ConfigurationError(key: keyPath(unknown.key), "is not a known key")
        }
    }

    private func expand(_ text: String, key: String) throws(ConfigurationError) -> String {
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw ConfigurationError(key: key, "has an unterminated ${")
            }
            let name = String(rest[start.upperBound..<end])
            if name.hasPrefix("file:") {
                let file = String(name.dropFirst(5))
                guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw ConfigurationError(key: key, "cannot read the file \(file)")
                }
                result += contents.trimmingCharacters(in: .newlines)
            } else {
                guard !name.isEmpty, let value = environment[name] else {
                    throw ConfigurationError(key: key, "the environment variable \(name) is not set")
                }
                result += value
            }
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }
}
