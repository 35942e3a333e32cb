/// Most events are status changes that are not offboardings. This decides that from a
/// structured-mode event's bytes in one pass, without building the document, so that the consumer
/// can drop them at the rate it reads them.
///
/// It answers `true` only when it is sure: the event is valid as `CloudEventDecoder` reads it, is
/// for this PSA, reports its status (trigger `event` or `webhook`) and that status is not an
/// offboarded one. Anything unusual (escapes, non-ASCII bytes, numbers, `data.options`, a repeated
/// key, a timestamp it cannot vouch for) makes it answer `false`, and the full decoder decides.
/// Property tests and a fuzz target hold it to that: whenever it says filtered, the full decoder
/// decodes the event and filters it too.
///
/// It runs inside the consumer's poll, before the heartbeat: its work is linear in the bytes, and
/// an event beyond the decoder's limits (size, extension attributes) is left to the decoder, which
/// refuses it.
public struct StatusPrefilter: Sendable {
    private let psa: [UInt8]
    /// The offboarded statuses as the criteria compare them (trimmed, lower-cased).
    private let offboarded: [[UInt8]]

    public init(psa: PSAKind, offboardedStatuses: [String]) {
        self.psa = Array(psa.rawValue.utf8)
        self.offboarded = offboardedStatuses.map { Array(OffboardingOptions.normalize($0).utf8) }
    }

    /// True when the record's value is a valid event, for this PSA, whose status is not offboarded.
    /// The caller checks the headers: structured mode (no `ce_specversion`), and a content type,
    /// if any, of `application/cloudevents+json` or `application/json`.
    public func isFiltered(_ value: [UInt8]) -> Bool {
        value.withUnsafeBufferPointer { isFiltered($0) }
    }

    /// The same, on bytes where they lie (a consumed message's payload).
    public func isFiltered(_ value: UnsafeRawBufferPointer) -> Bool {
        isFiltered(value.assumingMemoryBound(to: UInt8.self))
    }

    public func isFiltered(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        guard buffer.count <= JSONLimits.event.bytes else { return false }
        var scanner = Scanner(bytes: buffer)
        guard let event = scanner.event(), scanner.atEnd else { return false }
        return verdict(event, in: buffer)
    }

    private func verdict(_ event: Scanner.Event, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        func text(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[range]) }
        func equals(_ range: Range<Int>, _ expected: [UInt8]) -> Bool { text(range).elementsEqual(expected) }
        func hasPrefix(_ range: Range<Int>, _ prefix: [UInt8]) -> Bool { text(range).starts(with: prefix) }
        guard let specversion = event.specversion, equals(specversion, Self.specversion),
            let id = event.id, !id.isEmpty, let source = event.source, !source.isEmpty,
            let type = event.type, equals(type, Self.eventType),
            let psa = event.psa, equals(psa, self.psa),
            let companyID = event.companyID, !companyID.isEmpty,
            let status = event.status, !status.isEmpty
        else { return false }
        if let contentType = event.datacontenttype, !hasPrefix(contentType, Self.json) { return false }
        if let trigger = event.trigger, !equals(trigger, Self.event), !equals(trigger, Self.webhook) { return false }
        if let time = event.time, !Self.isStrictTimestamp(text(time)) { return false }
        // The criteria trim and lower-case; a status with blanks around it is left to them.
        let statusBytes = text(status)
        guard let first = statusBytes.first, let last = statusBytes.last, !Self.isBlank(first), !Self.isBlank(last) else { return false }
        let lowered = statusBytes.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        return !offboarded.contains(lowered)
    }

    private static let specversion = Array("1.0".utf8)
    private static let eventType = Array(CompanyStatusChangedEvent.eventType.utf8)
    private static let json = Array("application/json".utf8)
    private static let event = Array("event".utf8)
    private static let webhook = Array("webhook".utf8)

    /// Extension attributes vouched for, at most: each new key is compared with those before it,
    /// so the bound keeps that comparison from growing with the event.
    public static let maxExtensions = 16

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    /// `YYYY-MM-DDTHH:MM:SSZ` or with three fraction digits, a real calendar date: a subset of
    /// what the decoder's RFC 3339 check accepts.
    static func isStrictTimestamp(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard text.count == 20 || text.count == 24 else { return false }
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = text[index]
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard text[4] == 0x2D, text[7] == 0x2D, text[10] == 0x54, text[13] == 0x3A, text[16] == 0x3A, text[text.count - 1] == 0x5A,
            let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10), let hour = digits(11..<13),
            let minute = digits(14..<16), let second = digits(17..<19), year >= 1, (1...12).contains(month), hour < 24, minute < 60, second < 60
        else { return false }
        if text.count == 24 { guard text[19] == 0x2E, digits(20..<23) != nil else { return false } }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    /// One pass over the bytes, keeping only where each field's text is.
    private struct Scanner {
        struct Event {
            var specversion, id, source, type, time, datacontenttype, trigger: Range<Int>?
            var psa, companyID, status: Range<Int>?
            var seen: UInt16 = 0
        }

        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool {
            mutating get {
                skipWhitespace()
                return index == bytes.count
            }
        }

        mutating func skipWhitespace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A string with no escape, no control character and no byte beyond ASCII: its contents.
        mutating func simpleString() -> Range<Int>? {
            guard expect(0x22) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x22 {
                    index += 1
                    return start..<(index - 1)
                }
                guard byte >= 0x20, byte < 0x80, byte != 0x5C else { return nil }
                index += 1
            }
            return nil
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        /// A string, or `null` (nil range, true).
        mutating func optionalString() -> (Range<Int>?, Bool) {
            skipWhitespace()
            if index < bytes.count, bytes[index] == 0x6E { return (nil, literal("null")) }
            guard let range = simpleString() else { return (nil, false) }
            return (range, true)
        }

        func matches(_ range: Range<Int>, _ name: StaticString) -> Bool {
            guard range.count == name.utf8CodeUnitCount else { return false }
            for offset in 0..<range.count where bytes[range.lowerBound + offset] != name.utf8Start[offset] { return false }
            return true
        }

        /// Marks a field seen; false when it was already (a repeated key).
        static func first(_ bit: UInt16, in seen: inout UInt16) -> Bool {
            guard seen & bit == 0 else { return false }
            seen |= bit
            return true
        }

        mutating func event() -> Event? {
            var event = Event()
            var others: [Range<Int>] = []
            guard expect(0x7B) else { return nil }
            skipWhitespace()
            if index < bytes.count, bytes[index] == 0x7D { return nil }
            while true {
                guard let key = simpleString(), expect(0x3A) else { return nil }
                if matches(key, "data") {
                    guard Self.first(1 << 0, in: &event.seen), data(into: &event) else { return nil }
                } else if matches(key, "specversion") {
                    guard Self.first(1 << 1, in: &event.seen), let value = simpleString() else { return nil }
                    event.specversion = value
                } else if matches(key, "id") {
                    guard Self.first(1 << 2, in: &event.seen), let value = simpleString() else { return nil }
                    event.id = value
                } else if matches(key, "source") {
                    guard Self.first(1 << 3, in: &event.seen), let value = simpleString() else { return nil }
                    event.source = value
                } else if matches(key, "type") {
                    guard Self.first(1 << 4, in: &event.seen), let value = simpleString() else { return nil }
                    event.type = value
                } else if matches(key, "time") {
                    let (value, ok) = optionalString()
                    guard Self.first(1 << 5, in: &event.seen), ok else { return nil }
                    event.time = value
                } else if matches(key, "datacontenttype") {
                    let (value, ok) = optionalString()
                    guard Self.first(1 << 6, in: &event.seen), ok else { return nil }
                    event.datacontenttype = value
                } else if matches(key, "trigger") {
                    let (value, ok) = optionalString()
                    guard Self.first(1 << 7, in: &event.seen), ok else { return nil }
                    event.trigger = value
                } else if matches(key, "restores") || matches(key, "requestedby") {
                    // A restore's attributes: the decoder checks them against the trigger.
                    return nil
                } else {
                    // An extension attribute: only plain values are vouched for, each key once.
                    guard others.count < StatusPrefilter.maxExtensions else { return nil }
                    let text = UnsafeBufferPointer(rebasing: bytes[key])
                    guard !others.contains(where: { UnsafeBufferPointer(rebasing: bytes[$0]).elementsEqual(text) }) else { return nil }
                    others.append(key)
                    skipWhitespace()
                    guard index < bytes.count else { return nil }
                    switch bytes[index] {
                    case 0x22: guard simpleString() != nil else { return nil }
                    case 0x74: guard literal("true") else { return nil }
                    case 0x66: guard literal("false") else { return nil }
                    case 0x6E: guard literal("null") else { return nil }
                    default: return nil
                    }
                }
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == 0x2C {
                    index += 1
                } else if bytes[index] == 0x7D {
                    index += 1
                    return event
                } else {
                    return nil
                }
            }
        }

        /// The `data` object: only the fields a status report has, no `options`.
        mutating func data(into event: inout Event) -> Bool {
            guard expect(0x7B) else { return false }
            var seen: UInt16 = 0
            skipWhitespace()
            if index < bytes.count, bytes[index] == 0x7D { return false }
            while true {
                guard let key = simpleString(), expect(0x3A) else { return false }
                if matches(key, "psa") {
                    guard Self.first(1 << 0, in: &seen), let value = simpleString() else { return false }
                    event.psa = value
                } else if matches(key, "company_id") {
                    guard Self.first(1 << 1, in: &seen), let value = simpleString() else { return false }
                    event.companyID = value
                } else if matches(key, "status") {
                    guard Self.first(1 << 2, in: &seen), let value = simpleString() else { return false }
                    event.status = value
                } else if matches(key, "company_name") {
                    guard Self.first(1 << 3, in: &seen), optionalString().1 else { return false }
                } else if matches(key, "previous_status") {
                    guard Self.first(1 << 4, in: &seen), optionalString().1 else { return false }
                } else {
                    return false
                }
                skipWhitespace()
                guard index < bytes.count else { return false }
                if bytes[index] == 0x2C {
                    index += 1
                } else if bytes[index] == 0x7D {
                    index += 1
                    return true
                } else {
                    return false
                }
            }
        }
    }
}
