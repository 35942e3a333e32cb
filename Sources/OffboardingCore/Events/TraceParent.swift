/// A W3C Trace Context `traceparent`: which trace an event belongs to, carried by the CloudEvents
/// distributed-tracing extension (attribute `traceparent`; binary mode `ce_traceparent`) and by
/// the `traceparent` header of what the service publishes.
public struct TraceParent: Sendable, Hashable, CustomStringConvertible {
    /// 32 lowercase hex digits, not all zero.
    public let traceID: String
    /// 16 lowercase hex digits, not all zero: the span that sent the event.
    public let parentID: String
    /// 2 hex digits; bit 0 is "sampled".
    public let flags: String

    /// Parses version 00, and a later version's first four fields as the W3C specification asks;
    /// nil for anything else, which starts a trace of its own rather than failing the event.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 55, bytes.count <= 512 else { return nil }
        func isHex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        guard isHex(0..<2), bytes[2] == 0x2D, isHex(3..<35), bytes[35] == 0x2D, isHex(36..<52), bytes[52] == 0x2D, isHex(53..<55) else { return nil }
        let version = String(decoding: bytes[0..<2], as: UTF8.self)
        guard version != "ff", version == "00" ? bytes.count == 55 : (bytes.count == 55 || bytes[55] == 0x2D) else { return nil }
        let traceID = String(decoding: bytes[3..<35], as: UTF8.self)
        let parentID = String(decoding: bytes[36..<52], as: UTF8.self)
        guard traceID.contains(where: { $0 != "0" }), parentID.contains(where: { $0 != "0" }) else { return nil }
        self.traceID = traceID
        self.parentID = parentID
        flags = String(decoding: bytes[53..<55], as: UTF8.self)
    }

    public init?(traceID: String, parentID: String, flags: String = "01") {
        self.init("00-\(traceID)-\(parentID)-\(flags)")
    }

    public var description: String { "00-\(traceID)-\(parentID)-\(flags)" }
}
