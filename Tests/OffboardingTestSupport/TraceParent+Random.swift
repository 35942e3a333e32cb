import OffboardingCore

extension TraceParent {
    /// A new trace, as a sender the service knows nothing of would start it.
    public static func random() -> TraceParent {
        let hex = { (count: Int) in (0..<count).map { _ in String(Int.random(in: 1..<16), radix: 16) }.joined() }
        return TraceParent(traceID: hex(32), parentID: hex(16))!
    }
}
