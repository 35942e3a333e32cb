import Foundation

enum NoticeJSON {
    /// Keys sorted, so the same notice is the same bytes (and the same signature input).
    static func bytes(_ object: Any) -> [UInt8] {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return [] }
        return Array(data)
    }
}
