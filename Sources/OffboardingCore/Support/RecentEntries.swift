/// The most recently added entries that fit in a byte budget; the oldest go first. For what the
/// service remembers from outside (result ids and bodies, webhook deliveries, decided approvals):
/// a count would let a few large entries take any amount of memory.
public struct RecentEntries<Value: Sendable>: Sendable {
    /// What an entry costs besides its key's and value's bytes: the hash table slot, the order
    /// entry and the string headers, roughly.
    public static var overhead: Int { 64 }

    public let budget: Int
    /// At most this many entries, whatever their size.
    public let maxCount: Int
    private var entries: [String: (value: Value, cost: Int, serial: Int)] = [:]
    /// Keys in the order they were added or replaced; an entry whose serial no longer matches is stale.
    private var order: [(key: String, serial: Int)] = []
    private var head = 0
    private var nextSerial = 0
    public private(set) var bytes = 0

    public init(budget: Int, maxCount: Int = .max) {
        self.budget = max(0, budget)
        self.maxCount = max(1, maxCount)
    }

    public var count: Int { entries.count }

    public func contains(_ key: String) -> Bool { entries[key] != nil }

    public subscript(key: String) -> Value? { entries[key]?.value }

    /// Adds or replaces the entry, as the newest; `size` is the value's bytes. Older entries are
    /// dropped until the whole fits the budget and the count (an entry larger than the budget is
    /// not kept). Returns how many entries were dropped (the new one included, when it is not kept).
    @discardableResult
    public mutating func set(_ key: String, _ value: Value, size: Int = 0) -> Int {
        remove(key)
        let cost = key.utf8.count + max(0, size) + Self.overhead
        guard cost <= budget else { return 1 }
        entries[key] = (value, cost, nextSerial)
        order.append((key, nextSerial))
        nextSerial += 1
        bytes += cost
        var dropped = 0
        while bytes > budget || entries.count > maxCount, head < order.count {
            let oldest = order[head]
            head += 1
            if let entry = entries[oldest.key], entry.serial == oldest.serial {
                entries[oldest.key] = nil
                bytes -= entry.cost
                dropped += 1
            }
        }
        compactIfNeeded()
        return dropped
    }

    public mutating func remove(_ key: String) {
        guard let entry = entries.removeValue(forKey: key) else { return }
        bytes -= entry.cost
        // Its order entry goes stale and is skipped.
    }

    public var values: [Value] { entries.values.map(\.value) }

    /// Up to `limit` entries, the most recently added or replaced first.
    public func newest(_ limit: Int) -> [(key: String, value: Value)] {
        var found: [(key: String, value: Value)] = []
        var index = order.count - 1
        while index >= head, found.count < limit {
            let (key, serial) = order[index]
            if let entry = entries[key], entry.serial == serial { found.append((key, entry.value)) }
            index -= 1
        }
        return found
    }


    private mutating func compactIfNeeded() {
        // Replaced and removed entries leave stale order entries behind: keep them a fraction.
        guard order.count - head > 2 * entries.count + 1024 || (head > 1024 && head * 2 > order.count) else { return }
        order = order[head...].filter { entries[$0.key]?.serial == $0.serial }
        head = 0
    }
}
