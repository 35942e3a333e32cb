import Foundation
import PSAHTTP

/// One place notices go (`notify.channels[]`): its kind, where, which notices and which clients.
/// Its description names it and never shows the URL or the secret, both secrets.
public struct NoticeChannel: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case teams, slack, webhook
    }

    /// Unique among the channels; names the channel's consumer group, its metrics and its log lines.
    public var name: String
    public var kind: Kind
    /// https, or http on a loopback host (for tests).
    public var url: URL
    /// The generic webhook's signing secret.
    public var secret: StandardWebhook.Secret?
    public var notices: Set<NoticeKind>
    /// Client ids or names (a name matched without regard to case); nil for every client.
    public var clients: [String]?
    /// The most notices a second it sends; Slack allows about one a second per webhook.
    public var perSecond: Double

    public init(
        name: String, kind: Kind, url: URL, secret: StandardWebhook.Secret? = nil, notices: Set<NoticeKind> = Set(NoticeKind.allCases),
        clients: [String]? = nil, perSecond: Double? = nil
    ) {
        self.name = name
        self.kind = kind
        self.url = url
        self.secret = secret
        self.notices = notices
        self.clients = clients
        self.perSecond = perSecond ?? Self.defaultPerSecond(kind)
    }

    public static func defaultPerSecond(_ kind: Kind) -> Double {
        switch kind {
        case .slack, .teams: 1
        case .webhook: 10
        }
    }

    public var description: String { "\(kind.rawValue) channel \(name)" }

    /// Whether the channel gets this notice: its kind is chosen and, with a client filter, its
    /// client is named. A notice about no client (a dead letter with no key) passes no filter.
    public func accepts(_ notice: Notice) -> Bool {
        guard notices.contains(notice.kind) else { return false }
        guard let clients else { return true }
        return clients.contains { wanted in
            wanted == notice.clientID || notice.clientName.map { $0.caseInsensitiveCompare(wanted) == .orderedSame } == true
        }
    }

    /// The request for one attempt: the body in the channel's format and its headers.
    public func request(for notice: Notice, at now: Date = Date()) -> (headers: [(String, String)], body: [UInt8]) {
        let body: [UInt8]
        var headers = [("Content-Type", "application/json")]
        switch kind {
        case .teams: body = TeamsCard.body(for: notice)
        case .slack: body = SlackMessage.body(for: notice)
        case .webhook:
            body = StandardWebhook.body(for: notice)
            if let secret { headers += StandardWebhook.headers(id: notice.id, timestamp: now, body: body, secret: secret) }
        }
        return (headers, body)
    }

    /// Whether `url` may receive notices: https, or plain http only to a loopback host.
    public static func isAllowed(_ url: URL) -> Bool {
        guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty, url.user == nil else { return false }
        if scheme == "https" { return true }
        return scheme == "http" && PSAOrigin.isLoopback(host: host)
    }
}
