import Foundation

/// Builds query strings with every byte outside RFC 3986's unreserved set percent-encoded, so that
/// condition expressions (`company/id=1 and status/id!=3`) survive any server's decoding.
public enum QueryString {
    public static func encode(_ items: [(String, String)]) -> String {
        items.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    public static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }
}

/// Reads RFC 8288 `Link` headers such as `<https://host/x?page=2>; rel="next", <...>; rel="last"`.
public enum LinkHeader {
    public static func url(forRelation relation: String, in header: String) -> String? {
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            let isRelation = pieces.dropFirst().contains { parameter in
                let normalized = parameter.replacingOccurrences(of: " ", with: "")
                return normalized == "rel=\"\(relation)\"" || normalized == "rel=\(relation)"
            }
            if isRelation { return String(target.dropFirst().dropLast()) }
        }
        return nil
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
