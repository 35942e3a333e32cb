import Foundation

extension Duration {
    /// The duration in seconds, for `Date` arithmetic and the service's delays.
    public var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
