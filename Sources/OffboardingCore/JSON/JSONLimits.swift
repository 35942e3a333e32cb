/// How much JSON one input may hold. Every document that reaches the service from outside (an
/// event, a record of its own topics, a webhook, an API body, a PSA's answer) is read under the
/// limits of its kind, so that no input costs more than work linear in its size and a bounded
/// amount of memory, and one that is too large is refused with a reason instead of being worked on.
public struct JSONLimits: Sendable, Hashable {
    /// The document's size in bytes.
    public var bytes: Int
    /// Objects and arrays nested in each other.
    public var depth: Int
    /// Keys and values together, the document itself included.
    public var values: Int

    public init(bytes: Int, depth: Int, values: Int) {
        self.bytes = bytes
        self.depth = depth
        self.values = values
    }

    /// The longest number literal: a decimal conversion's cost grows with its digits, and no
    /// number the service reads needs more than a double's 17 significant digits and an exponent.
    public static let numberLength = 64

    /// A company-status-changed event: some ten attributes, a few extensions and the options. Kafka's
    /// default `message.max.bytes` is 1 MB.
    public static let event = JSONLimits(bytes: 1 << 20, depth: 16, values: 4096)
    /// An HTTP body: API requests, webhook deliveries, a ConnectWise signing key.
    public static let request = JSONLimits(bytes: 1 << 20, depth: 16, values: 4096)
    /// Records of the service's own topics (retry requests, approvals, decisions, run journals): one
    /// entry per configuration of a client, each a handful of values.
    public static let record = JSONLimits(bytes: 16 << 20, depth: 16, values: 1 << 20)
    /// A result: as a record, with a few more values per configuration.
    public static let result = JSONLimits(bytes: 64 << 20, depth: 16, values: 4 << 20)
    /// A PSA's answer: a page of a listing (up to 1,000 records of some fifty values), bounded in
    /// bytes by the transport before it gets here.
    public static let psaAnswer = JSONLimits(bytes: 64 << 20, depth: 64, values: 4 << 20)

    /// Checks the limits in one pass without building anything: for documents that Foundation's
    /// `JSONDecoder` then decodes into their types. It does not validate the grammar (the decoder
    /// does); it counts what opens, what nests and how long numbers are.
    public func check(_ bytes: [UInt8]) throws(JSONLimitExceeded) {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONLimitExceeded) in try check(buffer) }
    }

    public func check(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONLimitExceeded) {
        guard bytes.count <= self.bytes else { throw .bytes(self.bytes) }
        var depth = 0
        var values = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                values += 1
                guard depth <= self.depth else { throw .depth(self.depth) }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: "\""):
                values += 1
                index += 1
                while index < count, bytes[index] != UInt8(ascii: "\"") {
                    // An escape's next byte never ends the string.
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                values += 1
                let start = index
                while index + 1 < count, Self.isNumberByte(bytes[index + 1]) { index += 1 }
                guard index + 1 - start <= Self.numberLength else { throw .number(Self.numberLength) }
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                values += 1
                while index + 1 < count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[index + 1]) { index += 1 }
            default:
                break
            }
            guard values <= self.values else { throw .values(self.values) }
            index += 1
        }
    }

    static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): true
        default: false
        }
    }
}

/// A document beyond its input's `JSONLimits`: refused, with the limit it broke.
public enum JSONLimitExceeded: Error, Sendable, Hashable, CustomStringConvertible {
    case bytes(Int)
    case depth(Int)
    case values(Int)
    case number(Int)

    public var description: String {
        switch self {
        case .bytes(let limit): "it is larger than \(limit) bytes"
        case .depth(let limit): "it nests objects and arrays deeper than \(limit)"
        case .values(let limit): "it holds more than \(limit) keys and values"
        case .number(let limit): "it holds a number longer than \(limit) characters"
        }
    }
}
