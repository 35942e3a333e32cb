/// Comparisons whose time does not depend on where the inputs differ, for secrets.
enum ConstantTime {
    static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        // The length is not secret; the contents are.
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    static func equal(_ a: String, _ b: String) -> Bool {
        equal(Array(a.utf8), Array(b.utf8))
    }

    /// Whether `candidate` equals any of `secrets`; every secret is compared, whichever matches.
    static func matchesAny(_ candidate: String, _ secrets: [String]) -> Bool {
        var matched = false
        for secret in secrets where equal(candidate, secret) { matched = true }
        return matched
    }
}
