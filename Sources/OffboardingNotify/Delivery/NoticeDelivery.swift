import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import PSAHTTP
import Synchronization

/// Delivers notices to one channel: at its rate, repeating what can be repeated (`Retry-After`
/// honoured, otherwise a doubling backoff with jitter) until the notice is delivered, refused, or
/// has been tried for `giveUpAfter`. Counted in `psa_offboarder_notices_total{channel,notice,outcome}`.
public final class NoticeDelivery: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// How long one notice is tried before it is given up (and dead-lettered by the service).
        public var giveUpAfter: Duration = Self.defaultGiveUpAfter
        public var requestTimeout: Duration = Self.defaultRequestTimeout
        public var initialBackoff: Duration = .seconds(1)
        public var maxBackoff: Duration = .seconds(60)

        public static let defaultGiveUpAfter: Duration = .seconds(600)
        public static let defaultRequestTimeout: Duration = .seconds(10)

        public init() {}
    }

    public enum Outcome: Sendable, Hashable {
        case delivered(ChannelAnswer)
        /// Refused for good, or still failing at `giveUpAfter`: the last answer.
        case notDelivered(ChannelAnswer, attempts: Int)
        /// The task was cancelled (the service stopping) before it was delivered.
        case cancelled
    }

    public let channel: NoticeChannel
    private let configuration: Configuration
    private let http: HTTPClient
    private let logger: Logger
    /// When the next attempt may start, at the channel's rate.
    private let nextSlot = Mutex<ContinuousClock.Instant?>(nil)

    public init(channel: NoticeChannel, configuration: Configuration, http: HTTPClient, logger: Logger) {
        self.channel = channel
        self.configuration = configuration
        self.http = http
        var logger = logger
        logger[metadataKey: "notify.channel"] = "\(channel.name)"
        self.logger = logger
    }

    public func deliver(_ notice: Notice) async -> Outcome {
        let started = ContinuousClock.now
        var backoff = configuration.initialBackoff
        var attempts = 0
        while true {
            guard await waitForSlot() else { return .cancelled }
            attempts += 1
            let answer = await attempt(notice)
            switch answer.verdict {
            case .delivered:
                count(notice, "delivered")
                return .delivered(answer)
            case .refused:
                return .notDelivered(answer, attempts: attempts)
            case .retry:
                let delay = answer.retryAfter ?? backoff * Double.random(in: 0...1)
                backoff = min(backoff * 2, configuration.maxBackoff)
                guard ContinuousClock.now + delay - started < configuration.giveUpAfter else {
                    return .notDelivered(answer, attempts: attempts)
                }
                count(notice, "retried")
                logger.info(
                    "notice not delivered yet; trying again",
                    metadata: ["notify.notice": "\(notice.kind.rawValue)", "notify.answer": "\(answer)", "notify.retry_in": "\(delay)"])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    return .cancelled
                }
            }
        }
    }

    private func attempt(_ notice: Notice) async -> ChannelAnswer {
        let (headers, body) = channel.request(for: notice)
        var request = HTTPClientRequest(url: channel.url.absoluteString)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let answer = try await http.answer(to: request, timeout: configuration.requestTimeout, upTo: 64 * 1024)
            return ChannelAnswer(status: answer.status, body: Array(buffer: answer.body), retryAfter: answer.headers.first(name: "Retry-After"))
        } catch {
            return ChannelAnswer(error: error, url: channel.url)
        }
    }

    /// Takes the next slot at the channel's rate and sleeps until it; false when cancelled.
    private func waitForSlot() async -> Bool {
        let interval = Duration.seconds(1) / channel.perSecond
        let slot = nextSlot.withLock { next -> ContinuousClock.Instant in
            let slot = max(next ?? .now, .now)
            next = slot + interval
            return slot
        }
        do {
            try await Task.sleep(until: slot, clock: .continuous)
            return true
        } catch {
            return false
        }
    }

    private func count(_ notice: Notice, _ outcome: String) {
        Counter(label: "psa_offboarder_notices_total", dimensions: [("channel", channel.name), ("notice", notice.kind.rawValue), ("outcome", outcome)])
            .increment()
    }

    /// Counts a notice given up and put on the dead-letter topic.
    public func countDeadLettered(_ notice: Notice) { count(notice, "dead_lettered") }
}
