import Foundation
import OffboardingCore
import OffboardingTestSupport
import Testing

/// `GET /metrics` on the running service, scraped over HTTP as Prometheus would: what an
/// offboarding does shows in the counters, the PSA calls in the request counter and its latency
/// histogram, and no label carries a client's id or name.
@Suite(.timeLimit(.minutes(2)))
struct MetricsTests {
    /// Every sample of the exposition by its full name with labels, e.g. `a_total{x="y"}`.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    static func scrape(_ harness: PipelineHarness) async throws -> (text: String, samples: [String: Double]) {
        let response = try await APIClient.call(.GET, "\(harness.apiBaseURL)/metrics", token: nil)
        try #require(response.status == 200)
        #expect(response.headers.contains { $0.0.lowercased() == "content-type" && $0.1.hasPrefix("text/plain; version=0.0.4") })
        let text = String(decoding: response.body, as: UTF8.self)
        return (text, samples(text))
    }

    /// The sum of every sample of `name` whose labels include all of `labels`.
    static func total(_ samples: [String: Double], _ name: String, _ labels: [String] = []) -> Double {
        samples.filter { key, _ in key.hasPrefix(name + "{") && labels.allSatisfy { key.contains($0) } || key == name }.values.reduce(0, +)
    }

    @Test func anOffboardingShowsInTheCountersAndNoLabelNamesTheClient() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let before = try await Self.scrape(harness).samples
        let (client, _) = await harness.makeClient(active: 4, inactive: 1)
        let event = harness.event(forClient: client, options: .init(includeArchived: true))
        try await harness.send(event)
        _ = try await harness.result(for: event.id)
        let filtered = harness.event(forClient: client, status: "Active")
        try await harness.send(filtered)
        let marker = harness.event(forClient: client, options: .init(dryRun: true))
        try await harness.send(marker)
        _ = try await harness.result(for: marker.id)
        let (text, after) = try await Self.scrape(harness)
        func grew(_ name: String, _ labels: [String] = [], by least: Double) {
            let added = Self.total(after, name, labels) - Self.total(before, name, labels)
            #expect(added >= least, "\(name) \(labels) grew by \(added)")
        }
        // Other scenarios share this process, so each counter grew by at least what this one did.
        grew("psa_offboarder_offboardings_total", [#"trigger="event""#, #"success="true""#, #"dry_run="false""#], by: 1)
        grew("psa_offboarder_offboardings_total", [#"dry_run="true""#], by: 1)
        grew("psa_offboarder_configurations_total", [#"action="deactivated""#], by: 4)
        grew("psa_offboarder_configurations_total", [#"action="skipped""#], by: 1)
        grew("psa_offboarder_records_total", [#"outcome="received""#], by: 3)
        grew("psa_offboarder_records_total", [#"outcome="filtered""#], by: 1)
        grew("psa_offboarder_records_total", [#"outcome="result_published""#], by: 2)
        // By the topic the records came from, and only by it: no record of this test came from elsewhere.
        let events = #"topic="\#(PipelineHarness.topics.events)""#
        grew("psa_offboarder_records_total", [events, #"outcome="received""#], by: 3)
        grew("psa_offboarder_records_total", [events, #"outcome="filtered""#], by: 1)
        grew("psa_offboarder_records_total", [events, #"outcome="result_published""#], by: 2)
        grew("psa_offboarder_psa_requests_total", [#"psa="connectwise""#, #"method="PATCH""#, #"status="200""#], by: 4)
        grew("psa_offboarder_psa_requests_total", [#"method="PATCH""#, #"operation="company/configurations/{id}""#], by: 4)
        grew("psa_offboarder_psa_request_duration_seconds_count", [#"psa="connectwise""#, #"method="PATCH""#], by: 4)
        #expect(text.contains("psa_offboarder_psa_request_duration_seconds_bucket{"), "a latency histogram")
        // The poll loop turns: its last poll is a timestamp of a moment ago, and what it holds is counted.
        let lastPoll = try #require(after["psa_offboarder_last_poll_timestamp_seconds"])
        #expect(abs(Date().timeIntervalSince1970 - lastPoll) < 60, "last poll at \(lastPoll)")
        #expect(after["psa_offboarder_records_in_flight"].map { $0 >= 0 } == true)
        #expect(!text.contains(String(client)) && !text.contains("Client \(client)"), "label values stay bounded: no client ids or names")
    }

    @Test func aPendingApprovalIsCounted() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let (client, _) = await harness.makeClient(active: 2)
        let event = harness.event(forClient: client, options: .init(requireApproval: true))
        try await harness.send(event)
        #expect(try await harness.result(for: event.id).result.approval?.state == .pending)
        let pending = try #require(try await Self.scrape(harness).samples["psa_offboarder_pending_approvals"])
        #expect(pending >= 1, "\(pending) pending")
    }
}

/// Consumer lag, from librdkafka's statistics: it rises while records wait on the PSA (their
/// offsets unstored) and falls to zero once they are done. `kafka.properties` sets the interval,
/// over the pipeline's own default.
@Suite(.timeLimit(.minutes(3)))
struct ConsumerLagMetricsTests {
    static func lag(_ samples: [String: Double], group: String) -> [String: Double] {
        samples.filter { $0.key.hasPrefix("psa_offboarder_consumer_lag_records{") && $0.key.contains(#"group="\#(group)""#) }
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
        let before = try await MetricsTests.scrape(harness).samples
        var clients: [Int] = []
        for _ in 0..<3 {
            let (client, _) = await harness.makeClient(active: 2)
            await harness.tenant.failListing(ofClient: client, status: 503, retryAfterSeconds: nil, times: nil)
            clients.append(client)
        }
        let sent = clients.map { harness.event(forClient: $0) }
        for event in sent { try await harness.send(event) }

        // While the PSA is away the three records are read and held: the lag on the events topic
        // is three, and the received counter moved.
        var during: [String: Double] = [:]
        try await waitUntil(timeout: .seconds(30), "a lag of 3 on the events topic") {
            guard let samples = try? await MetricsTests.scrape(harness).samples else { return false }
            during = samples
            return Self.lag(samples, group: group).filter { $0.key.contains(#"topic="\#(events)""#) }.values.reduce(0, +) == 3
        }
        let received = MetricsTests.total(during, "psa_offboarder_records_total", [#"outcome="received""#])
            - MetricsTests.total(before, "psa_offboarder_records_total", [#"outcome="received""#])
        #expect(received >= 3, "received grew by \(received)")

        await harness.tenant.clearFaults()
        for event in sent { _ = try await harness.result(for: event.id) }
        var after: [String: Double] = [:]
        try await waitUntil(timeout: .seconds(30), "the lag to fall to zero") {
            guard let samples = try? await MetricsTests.scrape(harness).samples else { return false }
            after = samples
            let lag = Self.lag(samples, group: group).filter { $0.key.contains(#"topic="\#(events)""#) }
            return !lag.isEmpty && lag.values.allSatisfy { $0 == 0 }
        }
        let published = MetricsTests.total(after, "psa_offboarder_records_total", [#"outcome="result_published""#])
            - MetricsTests.total(during, "psa_offboarder_records_total", [#"outcome="result_published""#])
        #expect(published >= 3, "results published grew by \(published)")
        // The same statistics count each Kafka client's broker trouble (none here, but counted).
        for client in ["consumer", "approvals-consumer", "producer"] {
            #expect(after.keys.contains { $0.hasPrefix("psa_offboarder_kafka_disconnects_total{") && $0.contains(#"client="\#(client)""#) }, "\(client)")
        }
        try await harness.stop()
    }
}
