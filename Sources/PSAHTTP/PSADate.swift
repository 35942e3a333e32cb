import Foundation

/// Date-times as the PSAs write them: ISO 8601 with a zone, or without one (Autotask and HaloPSA
/// answer local date-times such as `2026-01-31T00:00:00`), read as UTC.
public enum PSADate {
    public static func parse(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601)) ?? (try? Date(text + "Z", strategy: .iso8601))
    }
}
