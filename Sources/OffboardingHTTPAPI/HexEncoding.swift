import Foundation

extension Sequence<UInt8> {
    /// Lowercase hex, two digits a byte: digests, MACs and nonces as they travel in ids and cookies.
    var hexEncoded: String { map { String(format: "%02x", $0) }.joined() }
}
