/// Links into the console, built only under the configured base (`notify.console_url`): whatever an
/// id holds, it is one percent-encoded path segment under that base, never a way off it.
public struct ConsoleLinks: Sendable, Hashable {
    /// Without a trailing slash.
    public let base: String

    public init(base: String) {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
    }

    public func approval(_ approvalID: String) -> String { "\(base)/approvals/\(Self.segment(approvalID))" }

    public func offboarding(_ eventID: String) -> String { "\(base)/offboardings/\(Self.segment(eventID))" }

    /// Unreserved characters (RFC 3986) kept, every other byte percent-encoded: no `/`, `?`, `#`
    /// or `..` can leave the segment.
    static func segment(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                // `.` too: a segment of dots would climb out of the base.
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                result += "%"
                result.unicodeScalars.append(hex[Int(byte >> 4)])
                result.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return result
    }
}
