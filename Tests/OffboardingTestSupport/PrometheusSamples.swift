/// A Prometheus text exposition read as samples: every sample by its full name with labels
/// (`a_total{x="y"}`) and its value.
public struct PrometheusSamples: Sendable {
    public var values: [String: Double] = [:]
    /// The exposition as scraped.
    public let text: String

    public init(_ text: String) {
        self.text = text
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
    }

    public subscript(_ name: String) -> Double? { values[name] }

    /// The sum of every sample of `name` whose labels include all of `labels`.
    public func total(_ name: String, _ labels: [String] = []) -> Double {
        values.filter { key, _ in (key.hasPrefix(name + "{") && labels.allSatisfy { key.contains($0) }) || (key == name && labels.isEmpty) }.values.reduce(0, +)
    }
}
