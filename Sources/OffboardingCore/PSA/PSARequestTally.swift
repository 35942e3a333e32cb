import Synchronization

/// Counts the PSA requests made on behalf of one piece of work (a sweep), including those its
/// child tasks make: the transport adds one for every attempt it sends while a tally is bound.
public final class PSARequestTally: Sendable {
    @TaskLocal public static var current: PSARequestTally?

    private let sent = Atomic<Int>(0)

    public init() {}

    public func add() {
        sent.add(1, ordering: .relaxed)
    }

    public var requests: Int { sent.load(ordering: .relaxed) }
}
