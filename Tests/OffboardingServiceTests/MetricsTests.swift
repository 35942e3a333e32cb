import Foundation
import OffboardingCore
import OffboardingTestSupport
import Testing

/// Scraping `GET /metrics` of a harness's service. Exact counts are asserted in
/// `MetricsProcessTests`, on a process only its test feeds: the registry here is the test
/// process's, shared by every harness.
enum MetricsScrape {
    static func of(_ harness: PipelineHarness) async throws -> PrometheusSamples {
        let response = try await APIClient.call(.GET, "\(harness.apiBaseURL)/metrics", token: nil)
        try #require(response.status == 200)
        #expect(response.headers.contains { $0.0.lowercased() == "content-type" && $0.1.hasPrefix("text/plain; version=0.0.4") })
        return PrometheusSamples(String(decoding: response.body, as: UTF8.self))
    }
}

/// Consumer lag, from librdkafka's statistics: it rises while records wait on the PSA (their
/// offsets unstored) and falls to zero once they are done. `kafka.properties` sets the interval,
/// over the pipeline's own default.
@Suite(.timeLimit(.minutes(3)))
struct ConsumerLagMetricsTests {
    static func lag(_ samples: PrometheusSamples, group: String) -> [String: Double] {
        samples.values.filter { $0.key.hasPrefix("psa_offboarder_consumer_lag_records{") && $0.key.contains(#"group="\#(group)""#) }
    }

    @Test func lagRisesWhileRecordsWaitOnThePSAAndFallsToZeroWhenTheyAreDone() async throws {
        let harness = try await PipelineHarness.isolated(.connectwise) { configuration in
            configuration.kafka.properties["statistics.interval.ms"] = "200"
            configuration.outageBackoff = .milliseconds(100)
            configuration.maxOutageBackoff = .milliseconds(200)
            configuration.psa.updateHTTP { $0.maxAttempts = 1 }
        }
        try await harness.waitForAssignment()
        let group = harness.configuration.kafka.groupID
        let events = PipelineHarness.topics.events
        var clients: [Int] = []
        for _ in 0..<3 {
            let (client, _) = await harness.makeClient(active: 2)
            await harness.tenant.failListing(ofClient: client, status: 503, retryAfterSeconds: nil, times: nil)
            clients.append(client)
        }
        let sent = clients.map { harness.event(forClient: $0) }
        for event in sent { try await harness.send(event) }

        // While the PSA is away the three records are read and held: the lag on the events topic is three.
        try await waitUntil(timeout: .seconds(30), "a lag of 3 on the events topic") {
            guard let samples = try? await MetricsScrape.of(harness) else { return false }
            return Self.lag(samples, group: group).filter { $0.key.contains(#"topic="\#(events)""#) }.values.reduce(0, +) == 3
        }

        await harness.tenant.clearFaults()
        for event in sent { _ = try await harness.result(for: event.id) }
        var after = PrometheusSamples("")
        try await waitUntil(timeout: .seconds(30), "the lag to fall to zero") {
            guard let samples = try? await MetricsScrape.of(harness) else { return false }
            after = samples
            let lag = Self.lag(samples, group: group).filter { $0.key.contains(#"topic="\#(events)""#) }
            return !lag.isEmpty && lag.values.allSatisfy { $0 == 0 }
        }
        // The same statistics count each Kafka client's broker trouble (none here, but counted).
        for client in ["consumer", "approvals-consumer", "producer"] {
            #expect(after.values.keys.contains { $0.hasPrefix("psa_offboarder_kafka_disconnects_total{") && $0.contains(#"client="\#(client)""#) }, "\(client)")
        }
        try await harness.stop()
    }
}
