import Foundation

/// Where a PSA call may go: credentials are only ever sent to the configured PSA's origin (scheme,
/// host and port, a default port written out or not), and only over https, except to a loopback
/// host (simulators, tests).
public struct PSAOrigin: Sendable, Hashable {
    public var scheme: String
    public var host: String
    public var port: Int

    public init?(_ url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        let defaultPort: Int
        switch scheme {
        case "https": defaultPort = 443
        case "http": defaultPort = 80
        default: return nil
        }
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? defaultPort
    }

    public var isLoopback: Bool { Self.isLoopback(host: host) }

    public static func isLoopback(host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        // 127.0.0.0/8 written as an address, not a name that merely starts with "127.".
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.first == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// Whether `url` has the same scheme, host and port as `base`.
    public static func same(_ url: String, as base: String) -> Bool {
        guard let a = PSAOrigin(url), let b = PSAOrigin(base) else { return false }
        return a == b
    }

    /// Whether `url` is on `base`'s origin and under its path (a paging link must stay in the API).
    public static func isWithin(_ url: String, base: String) -> Bool {
        guard same(url, as: base), let path = URLComponents(string: url)?.path, let basePath = URLComponents(string: base)?.path else { return false }
        let root = basePath.hasSuffix("/") ? basePath : basePath + "/"
        return path.hasPrefix(root)
    }

    /// Why `url` may not carry PSA credentials; nil when it may: https, or http to a loopback host.
    public static func refusal(of url: String) -> String? {
        guard let origin = PSAOrigin(url) else { return "it is not an http(s) URL with a host" }
        guard origin.scheme == "https" || origin.isLoopback else { return "it must use https (http only for loopback hosts)" }
        return nil
    }
}
