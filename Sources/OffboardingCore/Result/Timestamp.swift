import Foundation

/// RFC 3339 timestamps as the contract writes them (UTC, `Z`).
public enum Timestamp {
    public static func string(_ date: Date, fractionalSeconds: Bool = false) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: fractionalSeconds, timeZone: .gmt))
    }

    public static func date(from text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: false).parse(text))
    }

    static func isRFC3339(_ text: String) -> Bool {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: false).parse(text)) != nil
            || (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) != nil
    }
}
