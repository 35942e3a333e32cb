import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OffboardingCore
import Tracing

/// Sends one PSA API call and repeats it while the PSA says "slow down" (429, with `Retry-After`)
/// or is briefly unable to answer (500, 502, 503, 504, connection failures): the statuses in
/// `transientStatuses`. Every PSA deactivation is idempotent, so repeating a write is safe.
public final class PSAHTTPTransport: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// The time one attempt may take to get its answer's head, and the longest pause in its body.
        public var requestTimeout: Duration
        public static let defaultRequestTimeout: Duration = .seconds(30)
        public var maxAttempts: Int
        /// The longest `Retry-After` honoured; a longer one fails the call rather than stall the pipeline.
        public var maxRetryAfter: Duration
        /// First backoff when the PSA gives no `Retry-After`; doubled per attempt, full jitter.
        public var initialBackoff: Duration
        public var maxBackoff: Duration
        /// The time one call may take over all its attempts; no retry starts that would end past it.
        public var budget: Duration
        /// The largest response body read.
        public var maxResponseBytes: Int
        /// At most this many requests in any window, over every caller of this transport.
        public var rateLimit: RequestRateLimiter.Limit?
        /// At most this many requests in flight at once, over every caller of this transport.
        public var maxInFlight: Int?
        /// Learn the PSA's rate from its answers, under `rateLimit`; nil paces by `rateLimit` alone.
        public var adaptive: AdaptivePacer.Configuration?

        public init(
            requestTimeout: Duration = Self.defaultRequestTimeout, maxAttempts: Int = 5, maxRetryAfter: Duration = .seconds(60),
            initialBackoff: Duration = .milliseconds(250), maxBackoff: Duration = .seconds(10), budget: Duration = .seconds(120),
            maxResponseBytes: Int = 64 << 20, rateLimit: RequestRateLimiter.Limit? = nil, maxInFlight: Int? = nil,
            adaptive: AdaptivePacer.Configuration? = .init()
        ) {
            self.adaptive = adaptive
            self.rateLimit = rateLimit
            self.maxInFlight = maxInFlight
            self.requestTimeout = requestTimeout
            self.budget = budget
            self.maxAttempts = max(1, maxAttempts)
            self.maxRetryAfter = maxRetryAfter
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.maxResponseBytes = maxResponseBytes
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]

        public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// The answers that mean "not now" rather than "not this request". A 500 is among them: the
    /// peers (the ConnectWise PowerShell module, pyconnectwise, HaloAPI) repeat it, and setting a
    /// status is idempotent; a business-rule 500 that repeats is reported once the attempts are spent.
    public static let transientStatuses: Set<Int> = [429, 500, 502, 503, 504]

    private let httpClient: HTTPClient
    private let configuration: Configuration
    private let logger: Logger
    private let isSlowDown: @Sendable (Response) -> Bool
    private let rateLimiter: RequestRateLimiter?
    private let inFlight: AsyncSemaphore?
    /// The rate learnt from the PSA's answers, shared by every call through this transport.
    public let pacer: AdaptivePacer?
    private let metrics: PSARequestMetrics

    /// - Parameter isSlowDown: recognises a PSA's own "slow down" answer that is not a 429, such as
    ///   Autotask's thread-limit error; such responses are repeated like a 429.
    /// - Parameter psa: the PSA's name in the request metrics.
    public init(
        httpClient: HTTPClient, configuration: Configuration = .init(), logger: Logger, psa: String = "",
        isSlowDown: @escaping @Sendable (Response) -> Bool = { _ in false }
    ) {
        self.metrics = PSARequestMetrics(psa: psa)
        self.httpClient = httpClient
        self.configuration = configuration
        self.logger = logger
        self.isSlowDown = isSlowDown
        self.rateLimiter = configuration.rateLimit.map { RequestRateLimiter(limit: $0) }
        self.inFlight = configuration.maxInFlight.map(AsyncSemaphore.init(permits:))
        self.pacer = configuration.adaptive.map(AdaptivePacer.init(configuration:))
    }

    /// Returns the final response whatever its status (after retries); throws only when the PSA could
    /// not be reached at all, as `PSAConnectionError`.
    /// - Parameters:
    ///   - repeatable: false for a request that is not idempotent (a create): it is then repeated
    ///     only after 429, which the PSA answers before doing anything; any other failure is the
    ///     caller's to resolve (look before trying again).
    ///   - slot: a bound of the caller's (Autotask's threads per endpoint), held, as the others, by
    ///     each attempt and not while waiting to repeat it.
    public func send(
        _ method: HTTPMethod, url: String, headers: [(String, String)], body: [UInt8]? = nil, repeatable: Bool = true, slot: AsyncSemaphore? = nil
    ) async throws(PSAError) -> Response {
        var attempt = 1
        let started = ContinuousClock.now
        // What the call addresses, named once for the pacer's latencies, the span and the metrics.
        let resource = Self.resource(url)
        let operation = "\(method) \(resource)"
        while true {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            // The bounds on what is in flight first (the work's, the caller's, this transport's), then
            // the turn: a request given its turn goes out at once, so the time the pacer gave it is
            // the time the PSA saw it. Only the attempt holds them, not a wait to repeat it.
            let outcome: Result<Response, any Error>
            let latency: Duration
            let sentAt: ContinuousClock.Instant
            do {
                (outcome, latency, sentAt) = try await Self.within([PSAInFlight.bound, slot, inFlight].compactMap { $0 }[...]) {
                    () async throws(CancellationError) in
                    let ticket = try await rateLimiter?.acquire()
                    let sentAt = try await pacer?.acquire() ?? .now
                    PSARequestTally.current?.add()
                    let (outcome, latency) = await traced(method, operation: operation, attempt: attempt) { await execute(request) }
                    if let ticket { rateLimiter?.finish(ticket) }
                    return (outcome, latency, sentAt)
                }
            } catch {
                // Cancelled while waiting for its turn: the request is not sent at all.
                throw PSAError(code: .psaConnectionError, message: "cancelled while waiting to send \(method) \(Self.redacted(url))", isRetriable: true)
            }
            let status: Int? = if case .success(let response) = outcome { response.status } else { nil }
            if case .success(let response) = outcome {
                if response.status == 429 || isSlowDown(response) {
                    // The PSA's wait holds every request, so no longer than a single call would wait.
                    let asked = response.header("Retry-After").flatMap { Self.retryAfter($0) }
                    pacer?.slowDown(sentAt: sentAt, retryAfter: asked.map { min($0, configuration.maxRetryAfter) })
                } else {
                    pacer?.accepted(sentAt: sentAt, latency: latency, operation: operation)
                }
            }
            metrics.record(method: method, resource: resource, status: status, latency: latency, learntRate: pacer?.pacing.rate)
            let delay: Duration?
            switch outcome {
            case .success(let response) where response.status == 429 || (repeatable && (Self.transientStatuses.contains(response.status) || isSlowDown(response))):
                delay = retryDelay(after: attempt, retryAfter: response.header("Retry-After"))
                guard attempt < configuration.maxAttempts, let delay, withinBudget(started, delay) else { return response }
            case .success(let response):
                return response
            case .failure(let error):
                delay = retryDelay(after: attempt, retryAfter: nil)
                guard repeatable, attempt < configuration.maxAttempts, !Task.isCancelled, let delay, withinBudget(started, delay) else {
                    throw PSAError(code: .psaConnectionError, message: "\(method) \(Self.redacted(url)): \(error)", isRetriable: true)
                }
            }
            logger.debug(
                "PSA call will be repeated",
                metadata: ["psa.http.method": "\(method)", "psa.http.url": "\(Self.redacted(url))", "psa.http.attempt": "\(attempt)"])
            do {
                try await Task.sleep(for: delay ?? configuration.initialBackoff)
            } catch {
                throw PSAError(code: .psaConnectionError, message: "cancelled while waiting to repeat \(method) \(Self.redacted(url))", isRetriable: true)
            }
            attempt += 1
        }
    }

    /// One attempt as a client span, a child of the record's span: the PSA, the operation (ids
    /// replaced, no query: it can name clients), the status, and whether it was a repeat.
    private func traced(
        _ method: HTTPMethod, operation: String, attempt: Int, _ body: () async -> (Result<Response, any Error>, Duration)
    ) async -> (Result<Response, any Error>, Duration) {
        await withSpan("\(metrics.psa) \(method)", ofKind: .client) { span in
            let answer = await body()
            guard span.isRecording else { return answer }
            span.attributes["http.request.method"] = "\(method)"
            span.attributes["psa.name"] = metrics.psa
            span.attributes["psa.operation"] = operation
            if attempt > 1 { span.attributes["http.request.resend_count"] = attempt - 1 }
            switch answer.0 {
            case .success(let response):
                span.attributes["http.response.status_code"] = response.status
                if response.status >= 400 { span.setStatus(SpanStatus(code: .error, message: "HTTP \(response.status)")) }
            case .failure(let error):
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error))
            }
            return answer
        }
    }

    /// The answer, and how long the PSA took to give it.
    private func execute(_ request: HTTPClientRequest) async -> (Result<Response, any Error>, Duration) {
        let started = ContinuousClock.now
        do {
            let answer = try await httpClient.answer(to: request, timeout: configuration.requestTimeout, upTo: configuration.maxResponseBytes)
            let response = Response(status: answer.status, headers: answer.headers, body: Array(answer.body.readableBytesView))
            return (.success(response), ContinuousClock.now - started)
        } catch {
            return (.failure(error), ContinuousClock.now - started)
        }
    }

    /// `body` with a permit of each of `bounds`, taken in order.
    private static func within<T: Sendable>(
        _ bounds: ArraySlice<AsyncSemaphore>, _ body: () async throws(CancellationError) -> T
    ) async throws(CancellationError) -> T {
        guard let first = bounds.first else { return try await body() }
        return try await first.withPermit { () async -> Result<T, CancellationError> in
            do throws(CancellationError) {
                return .success(try await within(bounds.dropFirst(), body))
            } catch {
                return .failure(error)
            }
        }.get()
    }

    private func withinBudget(_ started: ContinuousClock.Instant, _ delay: Duration) -> Bool {
        ContinuousClock.now - started + delay <= configuration.budget
    }

    /// The PSA's `Retry-After`, or nil when it asks for longer than `maxRetryAfter` (the call then
    /// fails rather than stall the pipeline); without a readable one (absent, or a number that is
    /// negative, not finite or beyond a day), exponential backoff with full jitter, never beyond
    /// `maxRetryAfter` either.
    public func retryDelay(after attempt: Int, retryAfter: String?) -> Duration? {
        if let asked = retryAfter.flatMap({ Self.retryAfter($0) }) {
            return asked <= configuration.maxRetryAfter ? asked : nil
        }
        let ceiling = min(configuration.initialBackoff * (1 << min(max(attempt, 1) - 1, 20)), configuration.maxBackoff, configuration.maxRetryAfter)
        return .nanoseconds(Int64.random(in: 0...max(1, ceiling.nanoseconds)))
    }

    /// The longest wait a `Retry-After` may ask for before it is treated as unreadable.
    static let retryAfterLimit: Double = 86_400

    /// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); nil when it is neither,
    /// or out of range. The header comes from outside: nothing here may trap on what it holds.
    public static func retryAfter(_ text: String, now: Date = Date()) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let seconds: Double
        // delay-seconds is digits (a fraction is tolerated); `Double.init` alone would also take
        // `inf`, `nan`, hex and exponents.
        let isDecimal = !trimmed.isEmpty && trimmed.utf8.allSatisfy { (48...57).contains($0) || $0 == 46 } && trimmed.utf8.filter { $0 == 46 }.count <= 1
        if isDecimal, let number = Double(trimmed) {
            seconds = number
        } else if let date = httpDate(trimmed) {
            seconds = max(0, date.timeIntervalSince(now))
        } else {
            return nil
        }
        guard seconds.isFinite, seconds >= 0, seconds <= retryAfterLimit else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), read by position: Foundation's
    /// `DateFormatter` traps on some non-ASCII input on Linux, and a header can carry any byte.
    package static func httpDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 29, bytes.allSatisfy({ $0 < 0x80 }), bytes[3] == UInt8(ascii: ","), bytes[4] == 0x20, bytes[7] == 0x20,
            bytes[11] == 0x20, bytes[16] == 0x20, bytes[19] == UInt8(ascii: ":"), bytes[22] == UInt8(ascii: ":"), bytes[25] == 0x20,
            String(decoding: bytes[26...], as: UTF8.self) == "GMT"
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            bytes[range].allSatisfy { (48...57).contains($0) } ? Int(String(decoding: bytes[range], as: UTF8.self)) : nil
        }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let day = number(5..<7), let monthIndex = months.firstIndex(of: String(decoding: bytes[8..<11], as: UTF8.self)),
            let year = number(12..<16), let hour = number(17..<19), let minute = number(20..<22), let second = number(23..<25),
            (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm), all in small integers.
        let month = monthIndex + 1
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = shiftedYear / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: Double(days * 86_400 + hour * 3600 + minute * 60 + second))
    }

    /// What a call addresses, as a bounded name for latencies, spans and metric labels: the path's
    /// last three segments, without its query and with numeric segments (record ids) blanked
    /// (`company/configurations/{id}`, `api/Asset`).
    static func resource(_ url: String) -> String {
        let path = redacted(url)
        let afterHost = path.range(of: "://").map { path[$0.upperBound...].drop { $0 != "/" } } ?? Substring(path)
        return afterHost.split(separator: "/").suffix(3).map { $0.allSatisfy(\.isNumber) ? "{id}" : String($0) }.joined(separator: "/")
    }

    /// URLs are logged without their query, which can carry names of clients.
    static func redacted(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}

extension Duration {
    /// Saturates at `Int64.max` rather than trapping on a duration longer than about 292 years.
    var nanoseconds: Int64 {
        let (seconds, overflow) = components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, components.seconds >= 0 else { return overflow ? .max : 0 }
        let (total, carry) = seconds.addingReportingOverflow(components.attoseconds / 1_000_000_000)
        return carry ? .max : total
    }
}
