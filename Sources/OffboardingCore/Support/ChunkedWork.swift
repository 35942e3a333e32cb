/// Work over a list in chunks, a bounded number at a time: `items` cut into ranges of `size`,
/// `work` run on at most `width` of them at once, each next range started as one ends, and every
/// range's outcome handed to `handle` as it ends (in the order they end). Offboarding writes its
/// batches this way, and the sweep its queries.
public enum ChunkedWork {
    public static func run<Outcome: Sendable>(
        count: Int, size: Int, width: Int, _ work: @escaping @Sendable (Range<Int>) async -> Outcome,
        handle: (Range<Int>, Outcome) async -> Void
    ) async {
        let size = max(1, size)
        var pending = stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }.makeIterator()
        await withTaskGroup(of: (Range<Int>, Outcome).self) { group in
            func start() -> Bool {
                guard let range = pending.next() else { return false }
                group.addTask { (range, await work(range)) }
                return true
            }
            for _ in 0..<max(1, width) {
                guard start() else { break }
            }
            while let (range, outcome) = await group.next() {
                await handle(range, outcome)
                _ = start()
            }
        }
    }
}
