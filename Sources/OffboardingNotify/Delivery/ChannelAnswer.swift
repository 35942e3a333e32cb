import Foundation
import PSAHTTP

/// What a channel answered one attempt, and what that means for the notice.
public struct ChannelAnswer: Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status; nil when no answer came (refused connection, timeout, reset).
    public var status: Int?
    /// The start of the answer's body, or of the transport error, on one line.
    public var excerpt: String
    public var retryAfter: Duration?

    public enum Verdict: Sendable, Hashable {
        case delivered
        /// Worth another attempt: 408, 429, 5xx, no answer.
        case retry
        /// Will not be accepted however often it is tried: any other status, a redirect included
        /// (none is followed).
        case refused
    }

    public var verdict: Verdict {
        guard let status else { return .retry }
        switch status {
        case 200..<300: return .delivered
        case 408, 429, 500..<600: return .retry
        default: return .refused
        }
    }

    public var description: String {
        let head = status.map { "HTTP \($0)" } ?? "no answer"
        return excerpt.isEmpty ? head : "\(head): \(excerpt)"
    }

    static let excerptLimit = 200

    init(status: Int, body: [UInt8], retryAfter: String?) {
        self.status = status
        excerpt = NoticeText.oneLine(String(decoding: body.prefix(Self.excerptLimit * 4), as: UTF8.self)).clipped(to: Self.excerptLimit)
        self.retryAfter = retryAfter.flatMap { PSAHTTPTransport.retryAfter($0) }
    }

    /// A transport error, described without the URL (a webhook URL is a secret).
    init(error: any Error, url: URL) {
        status = nil
        var text = String(describing: error)
        for secret in [url.absoluteString, url.path(percentEncoded: true), url.query(percentEncoded: true) ?? ""] where secret.count > 1 {
            text = text.replacingOccurrences(of: secret, with: "…")
        }
        excerpt = NoticeText.oneLine(text).clipped(to: Self.excerptLimit)
        retryAfter = nil
    }
}
