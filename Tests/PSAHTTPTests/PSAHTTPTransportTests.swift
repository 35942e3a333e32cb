import Synchronization
import AsyncHTTPClient
import Foundation
import Logging
import OffboardingCore
import OffboardingTestSupport
import PSAHTTP
import PSASimulators
import Testing

/// Which answers are repeated, and within which budget, against a simulator that counts requests.
@Suite(.timeLimit(.minutes(1)))
struct PSAHTTPTransportTests {
    func withServer(_ body: (ConnectWiseSimulator, String, [(String, String)]) async throws -> Void) async throws {
        let simulator = ConnectWiseSimulator(data: .sample())
        let server = try await SimulatorServer.start(router: simulator.makeRouter(), logger: .test())
        let credentials = ConnectWiseSimulator.Credentials.sandbox
        let auth = Data("\(credentials.companyID)+\(credentials.publicKey):\(credentials.privateKey)".utf8).base64EncodedString()
        do {
            try await body(simulator, server.baseURL + ConnectWiseSimulator.apiPath + "/company/companies/12345",
                           [("Authorization", "Basic \(auth)"), ("clientId", credentials.clientID)])
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    let fast = PSAHTTPTransport.Configuration(maxAttempts: 5, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50))

    @Test(arguments: [400, 401, 403, 404, 409, 422])
    func permanentFailuresAreNotRepeated(status: Int) async throws {
        try await withServer { simulator, url, headers in
            await simulator.inject(SimulatorFault(pathContains: "companies", status: status, times: 1))
            let response = try await PSAHTTPTransport(httpClient: .shared, configuration: fast, logger: .test()).send(.GET, url: url, headers: headers)
            #expect(response.status == status)
            #expect(await simulator.requestCount == 1)
        }
    }

    @Test(arguments: [429, 500, 502, 503, 504])
    func transientFailuresAreRepeatedUntilSuccess(status: Int) async throws {
        try await withServer { simulator, url, headers in
            await simulator.inject(SimulatorFault(pathContains: "companies", status: status, retryAfterSeconds: status == 429 ? 0 : nil, times: 3))
            let response = try await PSAHTTPTransport(httpClient: .shared, configuration: fast, logger: .test()).send(.GET, url: url, headers: headers)
            #expect(response.status == 200)
            #expect(await simulator.requestCount == 4)
        }
    }

    @Test func aRetryAfterOfADayHoldsTheOtherRequestsNoLongerThanMaxRetryAfter() async throws {
        try await withServer { simulator, url, headers in
            await simulator.inject(SimulatorFault(pathContains: "companies", status: 429, retryAfterSeconds: 86_400, times: 1))
            var configuration = fast
            configuration.maxRetryAfter = .milliseconds(300)
            // A refusal of the one request there is taken for ours, as one in a busy second is.
            configuration.adaptive = .init(evidence: 1)
            let transport = PSAHTTPTransport(httpClient: .shared, configuration: configuration, logger: .test())
            // Asked to wait a day, beyond what a call waits: the call gives up at once...
            let refused = try await transport.send(.GET, url: url, headers: headers)
            #expect(refused.status == 429)
            // ...and the pacer holds the next one for at most max_retry_after, not a day.
            let started = ContinuousClock.now
            let next = try await transport.send(.GET, url: url, headers: headers)
            #expect(next.status == 200)
            #expect(ContinuousClock.now - started >= .milliseconds(250))
            #expect(transport.pacer?.pacing.slowDowns == 1)
        }
    }

    @Test func attemptsAreBounded() async throws {
        try await withServer { simulator, url, headers in
            await simulator.inject(SimulatorFault(pathContains: "companies", status: 503, times: nil))
            let response = try await PSAHTTPTransport(httpClient: .shared, configuration: fast, logger: .test()).send(.GET, url: url, headers: headers)
            #expect(response.status == 503)
            #expect(await simulator.requestCount == 5)
        }
    }

    @Test func aRetryAfterBeyondTheBudgetIsNotWaitedFor() async throws {
        try await withServer { simulator, url, headers in
            await simulator.inject(SimulatorFault(pathContains: "companies", status: 429, retryAfterSeconds: 30, times: nil))
            var configuration = fast
            configuration.budget = .seconds(5)
            let response = try await PSAHTTPTransport(httpClient: .shared, configuration: configuration, logger: .test()).send(.GET, url: url, headers: headers)
            #expect(response.status == 429)
            #expect(await simulator.requestCount == 1)
        }
    }

    @Test func connectionFailuresAreRepeatedThenReportedAsPSAConnectionError() async throws {
        // Nothing listens on port 9 of loopback; async-http-client keeps reconnecting until the deadline.
        var configuration = fast
        configuration.requestTimeout = .milliseconds(300)
        let attempts = PSARequestTally()
        await PSARequestTally.$current.withValue(attempts) {
            do throws(PSAError) {
                _ = try await PSAHTTPTransport(httpClient: .shared, configuration: configuration, logger: .test())
                    .send(.GET, url: "http://127.0.0.1:9/x", headers: [])
                Issue.record("expected a connection error")
            } catch {
                #expect(error.code == .psaConnectionError && error.isRetriable)
            }
        }
        #expect(attempts.requests == configuration.maxAttempts, "repeated until the attempts ran out")
    }

    @Test func backoffIsExponentialWithFullJitterUnderItsCap() {
        let transport = PSAHTTPTransport(
            httpClient: .shared, configuration: .init(initialBackoff: .milliseconds(100), maxBackoff: .seconds(1)), logger: .test())
        for attempt in 1...8 {
            let ceiling = min(Duration.milliseconds(100) * (1 << (attempt - 1)), .seconds(1))
            let delays = (0..<200).compactMap { _ in transport.retryDelay(after: attempt, retryAfter: nil) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
            #expect(Set(delays).count > 50, "full jitter spreads the delays")
        }
        #expect(transport.retryDelay(after: 1, retryAfter: "2") == .seconds(2))
        #expect(transport.retryDelay(after: 1, retryAfter: "3600") == nil, "longer than max_retry_after")
    }
}

@Suite(.timeLimit(.minutes(1)))
struct RequestRateLimiterTests {
    @Test func noWindowHoldsMoreThanTheLimit() async throws {
        let limiter = RequestRateLimiter(limit: .init(maxRequests: 5, per: .milliseconds(300)))
        var starts: [ContinuousClock.Instant] = []
        for _ in 0..<16 {
            let ticket = try await limiter.acquire()
            starts.append(.now)
            limiter.finish(ticket)
        }
        // Any six consecutive starts span at least one window: the sixth waited for the first to age out.
        for index in 5..<starts.count {
            #expect(starts[index] - starts[index - 5] >= .milliseconds(300))
        }
        // And the first five went at once.
        #expect(starts[4] - starts[0] < .milliseconds(300))
    }

    @Test func aRunningRequestHoldsItsPlaceUntilAWindowAfterItFinished() async throws {
        let limiter = RequestRateLimiter(limit: .init(maxRequests: 1, per: .milliseconds(200)))
        let slow = try await limiter.acquire()
        let started = ContinuousClock.now
        // The first request runs 300 ms; the second may only start 200 ms after it finished.
        async let second: ContinuousClock.Instant = { _ = try? await limiter.acquire(); return .now }()
        try await Task.sleep(for: .milliseconds(300))
        let finished = ContinuousClock.now
        limiter.finish(slow)
        let secondStart = await second
        #expect(secondStart - finished >= .milliseconds(190))
        #expect(secondStart - started >= .milliseconds(490))
    }

    @Test func concurrentCallersShareTheLimit() async throws {
        let limiter = RequestRateLimiter(limit: .init(maxRequests: 4, per: .milliseconds(250)))
        let starts = await withTaskGroup(of: ContinuousClock.Instant.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    let ticket = try? await limiter.acquire()
                    defer { ticket.map(limiter.finish) }
                    return .now
                }
            }
            return await group.reduce(into: []) { $0.append($1) }.sorted()
        }
        for index in 4..<starts.count {
            #expect(starts[index] - starts[index - 4] >= .milliseconds(250))
        }
    }
}

/// `Retry-After` comes from outside: whatever it holds is bounded before it becomes a wait.
@Suite(.timeLimit(.minutes(1)))
struct RetryAfterTests {
    @Test(arguments: ["inf", "-inf", "nan", "1e300", "99999999999999999", "-1", "86401", "soon", "", "0x10", "Fri, 31 Dec 99999 23:59:59 GMT"])
    func anUnreadableOrOutOfRangeRetryAfterIsTreatedAsAbsent(text: String) {
        #expect(PSAHTTPTransport.retryAfter(text) == nil)
        let transport = PSAHTTPTransport(
            httpClient: .shared, configuration: .init(initialBackoff: .milliseconds(100), maxBackoff: .seconds(1)), logger: .test())
        // Treated as no Retry-After: the jittered backoff, never beyond its cap.
        let delay = transport.retryDelay(after: 3, retryAfter: text)
        #expect(delay.map { $0 >= .zero && $0 <= .milliseconds(400) } == true)
    }

    @Test func secondsAndHTTPDatesAreRead() {
        #expect(PSAHTTPTransport.retryAfter(" 2 ") == .seconds(2))
        #expect(PSAHTTPTransport.retryAfter("0.25") == .milliseconds(250))
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(PSAHTTPTransport.retryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now: now) == .seconds(30))
        #expect(PSAHTTPTransport.retryAfter("Tue, 14 Nov 2023 22:00:00 GMT", now: now) == .zero, "a date in the past: now")
        #expect(PSAHTTPTransport.httpDate("Sun, 06 Nov 1994 08:49:37 GMT") == Date(timeIntervalSince1970: 784_111_777))
        #expect(PSAHTTPTransport.httpDate("Thu, 29 Feb 2024 00:00:00 GMT") == Date(timeIntervalSince1970: 1_709_164_800))
    }

    /// Found by fuzzing: Foundation's DateFormatter trapped on a date with non-ASCII bytes.
    @Test(arguments: ["Fri, 31ܻ\u{FFFD}\u{FFFD}9 23:59:59 GMT", "Fri, 31 Déc 1999 23:59:59 GMT", "Fri, 31 Dec 1999 23:59:59 UTC", "Fri, 99 Dec 1999 99:59:59 GMT"])
    func aDateThatIsNotAnIMFFixdateIsNoRetryAfter(text: String) {
        #expect(PSAHTTPTransport.retryAfter(text) == nil)
    }

    @Test(arguments: ["inf", "1e300", "99999999999999999", "-5"])
    func aHostileRetryAfterOnTheWireIsWaitedOutAsBackoff(text: String) async throws {
        let simulator = ConnectWiseSimulator(data: .sample())
        try await SimulatorServer.serving(simulator) { server in
            await simulator.inject(SimulatorFault(pathContains: "companies", status: 429, retryAfterText: text, times: 2))
            let credentials = ConnectWiseSimulator.Credentials.sandbox
            let auth = Data("\(credentials.companyID)+\(credentials.publicKey):\(credentials.privateKey)".utf8).base64EncodedString()
            let transport = PSAHTTPTransport(
                httpClient: .shared, configuration: .init(maxAttempts: 5, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50)),
                logger: .test())
            let response = try await transport.send(
                .GET, url: server.baseURL + ConnectWiseSimulator.apiPath + "/company/companies/12345",
                headers: [("Authorization", "Basic \(auth)"), ("clientId", credentials.clientID)])
            #expect(response.status == 200)
            #expect(await simulator.requestCount == 3, "two 429s waited out, then the answer")
        }
    }
}

/// Credentials go only to the configured origin; a default port written out is the same origin.
@Suite struct PSAOriginTests {
    @Test func anExplicitDefaultPortIsTheSameOrigin() {
        let base = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
        #expect(PSAOrigin.isWithin("https://api-na.myconnectwise.net:443/v4_6_release/apis/3.0/company/configurations?page=2", base: base))
        #expect(PSAOrigin.isWithin("HTTPS://API-NA.myconnectwise.net/v4_6_release/apis/3.0/company/configurations?page=2", base: base))
        #expect(PSAOrigin.same("http://127.0.0.1:80/x", as: "http://127.0.0.1/"))
    }

    @Test func anotherOriginOrPathIsNot() {
        let base = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
        for url in [
            "http://api-na.myconnectwise.net/v4_6_release/apis/3.0/company/configurations",
            "https://api-na.myconnectwise.net:8443/v4_6_release/apis/3.0/company/configurations",
            "https://evil.example/v4_6_release/apis/3.0/company/configurations",
            "https://api-na.myconnectwise.net.evil.example/v4_6_release/apis/3.0/x",
            "https://api-na.myconnectwise.net/v4_6_release/apis/3.0evil/x",
            "https://api-na.myconnectwise.net/other",
            "not a url",
        ] {
            #expect(!PSAOrigin.isWithin(url, base: base), "\(url)")
        }
    }

    @Test func credentialsGoOverHTTPSOrToLoopbackOnly() {
        #expect(PSAOrigin.refusal(of: "https://psa.example/api") == nil)
        #expect(PSAOrigin.refusal(of: "http://127.0.0.1:8089/api") == nil)
        #expect(PSAOrigin.refusal(of: "http://localhost/api") == nil)
        #expect(PSAOrigin.refusal(of: "http://[::1]:80/api") == nil)
        #expect(PSAOrigin.refusal(of: "http://psa.example/api")?.contains("https") == true)
        #expect(PSAOrigin.refusal(of: "http://127.0.0.1.evil.example/api")?.contains("https") == true)
        #expect(PSAOrigin.refusal(of: "ftp://psa.example/api") != nil)
    }

    /// A cancelled wait must not hand out a ticket: the request would then go out unpaced.
    @Test func aCancelledAcquireThrowsAndLetsNothingThrough() async throws {
        let limiter = RequestRateLimiter(limit: .init(maxRequests: 1, per: .seconds(60)))
        let first = try await limiter.acquire()
        limiter.finish(first)
        let waiting = Task { try await limiter.acquire() }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
        // Already cancelled before it starts: the same.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await limiter.acquire()
        }
        await #expect(throws: CancellationError.self) { _ = try await early.value }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct AsyncSemaphoreTests {
    @Test func aCancelledWaiterNeverRunsItsBodyAndFreesNoPermit() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        let gate = AsyncStream<Void>.makeStream()
        let ran = ManagedAtomicCounter()
        // The one permit is held until the gate opens.
        let holder = Task { try await semaphore.withPermit { for await _ in gate.stream { break } } }
        try await waitUntil { semaphore.isFull }
        let waiter = Task { try await semaphore.withPermit { ran.increment() } }
        try await waitUntil { semaphore.waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(semaphore.waiting == 0)
        gate.continuation.yield()
        try await holder.value
        #expect(ran.value == 0)
        // The permit came back: the next caller runs at once.
        try await semaphore.withPermit { ran.increment() }
        #expect(ran.value == 1)
    }

    @Test func waitersRunInArrivalOrder() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        let order = OrderLog()
        let gate = AsyncStream<Void>.makeStream()
        let holder = Task { try await semaphore.withPermit { for await _ in gate.stream { break } } }
        try await waitUntil { semaphore.isFull }
        var waiters: [Task<Void, any Error>] = []
        for index in 0..<5 {
            waiters.append(Task { try await semaphore.withPermit { order.append(index) } })
            try await waitUntil { semaphore.waiting == index + 1 }
        }
        gate.continuation.yield()
        try await holder.value
        for waiter in waiters { try await waiter.value }
        #expect(order.values == [0, 1, 2, 3, 4])
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            await Task.yield()
        }
    }
}

private final class ManagedAtomicCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

private final class OrderLog: Sendable {
    private let log = Mutex<[Int]>([])
    func append(_ value: Int) { log.withLock { $0.append(value) } }
    var values: [Int] { log.withLock { $0 } }
}
