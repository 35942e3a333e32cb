import Foundation

/// Files of this repository that tests read (schemas, fuzz corpora, deployment manifests).
public enum Repository {
    /// The repository's root, found from this file's location.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func file(_ path: String) -> URL { root.appendingPathComponent(path) }
}
