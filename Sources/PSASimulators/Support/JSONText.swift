import Foundation

/// Writes the object graphs the simulators answer with (`[String: Any]`, `[Any]`, strings, `Int`,
/// `Bool`, `NSNull`) as JSON text. Foundation's `JSONSerialization` bridges every value through an
/// `NSObject` on Linux: a 1,000-row listing then kept a simulator's actor busy several times the
/// latency it simulates, and every request behind it waited. Anything else (an `NSNumber` parsed
/// from a request, a `Double`) still goes through `JSONSerialization`, so the text is what it wrote.
enum JSONText {
    /// nil when the graph holds something JSON cannot say.
    static func bytes(_ object: Any) -> [UInt8]? {
        var text: [UInt8] = []
        text.reserveCapacity(512)
        return write(object, into: &text) ? text : nil
    }

    private static func write(_ value: Any, into text: inout [UInt8]) -> Bool {
        switch value {
        case let string as String:
            writeString(string, into: &text)
        case let number as Int where type(of: value) == Int.self:
            text.append(contentsOf: String(number).utf8)
        case let flag as Bool where type(of: value) == Bool.self:
            text.append(contentsOf: (flag ? "true" : "false").utf8)
        case let object as [String: Any]:
            text.append(UInt8(ascii: "{"))
            var first = true
            for (key, member) in object {
                if !first { text.append(UInt8(ascii: ",")) }
                first = false
                writeString(key, into: &text)
                text.append(UInt8(ascii: ":"))
                guard write(member, into: &text) else { return false }
            }
            text.append(UInt8(ascii: "}"))
        case let array as [Any]:
            text.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { text.append(UInt8(ascii: ",")) }
                guard write(element, into: &text) else { return false }
            }
            text.append(UInt8(ascii: "]"))
        case is NSNull:
            text.append(contentsOf: "null".utf8)
        default:
            guard let fragment = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) else { return false }
            text.append(contentsOf: fragment)
        }
        return true
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func writeString(_ string: String, into text: inout [UInt8]) {
        text.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                text.append(UInt8(ascii: "\\"))
                text.append(byte)
            case UInt8(ascii: "\n"): text.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): text.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): text.append(contentsOf: #"\t"#.utf8)
            case ..<0x20:
                text.append(contentsOf: #"\u00"#.utf8)
                text.append(hex[Int(byte >> 4)])
                text.append(hex[Int(byte & 0xF)])
            default:
                text.append(byte)
            }
        }
        text.append(UInt8(ascii: "\""))
    }
}
