import Foundation
import OffboardingTestSupport
import PSASimulators
import Testing

/// `GET /metrics` of a `consume` process that only this test feeds, scraped over HTTP as
/// Prometheus would: each counter moves by exactly what the test's records did, the gauges say what
/// is held now, and no label carries a client's id or name. (In the test process the registry is
/// shared by every harness, so exact figures can only be read here.)
@Suite(.serialized, .timeLimit(.minutes(3)))
struct MetricsProcessTests {
    static func port(_ stderr: String) -> Int? {
        guard let line = stderr.split(separator: "\n").first(where: { $0.contains("HTTP API listening") }),
            let range = line.range(of: "http.port=")
        else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    @Test func eachCounterMovesByWhatTheRecordsDidAndTheGaugesSayWhatIsHeld() async throws {
        let setup = try await ConsumerProcessTests().setUp(
            companies: 3, configsEach: 4, eventPartitions: 2,
            sections: [
                #"http: {listen: "127.0.0.1:0", api_tokens: ["${API_TOKEN}"]}"#,
                "retry: {max_attempts: 1, outage_backoff: 100ms, max_outage_backoff: 200ms}",
            ])
        var environment = setup.environment
        environment["API_TOKEN"] = "metrics-test-token-0123456789abcdef"
        let process = try OffboarderProcess(arguments: ["consume", "--config", setup.configFile], environment: environment)
        try await process.waitForStderr(timeout: .seconds(30), "the assignment", ConsumerProcessTests.ownsPartitions)
        let port = try #require(Self.port(process.stderr), "the HTTP port in the log")
        func scrape() async throws -> PrometheusSamples {
            let response = try await APIClient.call(.GET, "http://127.0.0.1:\(port)/metrics", token: nil)
            try #require(response.status == 200)
            return PrometheusSamples(String(decoding: response.body, as: UTF8.self))
        }
        func value(_ samples: PrometheusSamples, _ name: String, _ labels: [String] = []) -> Double { samples.total(name, labels) }
        let events = #"topic="\#(PipelineHarness.topics.events)""#
        let (first, second, third) = (setup.companies[0], setup.companies[1], setup.companies[2])

        // A report of an active status (filtered) and two offboardings of four configurations each.
        // The filtered one has the key of the first offboarding, so that one's result says it was handled.
        _ = try await ConsumerProcessTests().send(first, status: "Active", through: setup)
        let ids = [try await ConsumerProcessTests().send(first, through: setup), try await ConsumerProcessTests().send(second, through: setup)]
        try await setup.results.wait(timeout: .seconds(60), for: "both results") { Set($0.compactMap(ConsumerProcessTests.eventID)).isSuperset(of: ids) }
        // A result is out a moment before its record's slot is given back.
        var samples = PrometheusSamples("")
        try await waitUntil(timeout: .seconds(10), "no record in flight") {
            guard let scraped = try? await scrape() else { return false }
            samples = scraped
            return scraped["psa_offboarder_records_in_flight"] == 0
        }
        #expect(value(samples, "psa_offboarder_records_total", [events, #"outcome="received""#]) == 3)
        #expect(value(samples, "psa_offboarder_records_total", [events, #"outcome="filtered""#]) == 1)
        #expect(value(samples, "psa_offboarder_records_total", [events, #"outcome="result_published""#]) == 2)
        #expect(value(samples, "psa_offboarder_offboardings_total", [#"trigger="event""#, #"success="true""#, #"dry_run="false""#]) == 2)
        #expect(value(samples, "psa_offboarder_offboardings_total") == 2, "no other offboarding, failed or not")
        #expect(value(samples, "psa_offboarder_configurations_total", [#"action="deactivated""#]) == 8)
        #expect(value(samples, "psa_offboarder_psa_requests_total", [#"psa="connectwise""#, #"method="PATCH""#, #"status="200""#]) == 8)
        #expect(value(samples, "psa_offboarder_psa_requests_total", [#"method="PATCH""#, #"operation="company/configurations/{id}""#]) == 8)
        #expect(value(samples, "psa_offboarder_psa_request_duration_seconds_count", [#"psa="connectwise""#, #"method="PATCH""#]) == 8)
        #expect(samples["psa_offboarder_records_waiting_on_psa"] == 0)
        #expect(samples.text.contains("psa_offboarder_psa_request_duration_seconds_bucket{"), "a latency histogram")
        for company in setup.companies {
            #expect(!samples.text.contains(company.name) && !samples.text.contains(company.identifier), "label values stay bounded: no client ids or names")
        }

        // While the PSA cannot list the third client, its record waits, and the gauge says one.
        await setup.simulator.failListing(ofClient: third.id, status: 503, retryAfterSeconds: nil, times: nil)
        let waiting = try await ConsumerProcessTests().send(third, through: setup)
        try await waitUntil(timeout: .seconds(30), "one record waiting on the PSA") {
            (try? await scrape())?["psa_offboarder_records_waiting_on_psa"] == 1
        }
        await setup.simulator.clearFaults()
        try await setup.results.wait(timeout: .seconds(60), for: "the waiting record's result") { $0.contains { ConsumerProcessTests.eventID($0) == waiting } }
        try await waitUntil(timeout: .seconds(10), "nothing waiting or in flight") {
            guard let samples = try? await scrape() else { return false }
            return samples["psa_offboarder_records_waiting_on_psa"] == 0 && samples["psa_offboarder_records_in_flight"] == 0
        }
        let end = try await scrape()
        #expect(value(end, "psa_offboarder_records_total", [events, #"outcome="received""#]) == 4)
        #expect(value(end, "psa_offboarder_records_total", [events, #"outcome="result_published""#]) == 3)
        #expect(value(end, "psa_offboarder_configurations_total", [#"action="deactivated""#]) == 12)

        process.signal(SIGTERM)
        #expect(await process.waitForExit() == 0, "\(ConsumerProcessTests.crashReport(process.stderr))")
        await setup.results.stop()
        await setup.producer.shutdown()
        await setup.server.stop()
    }
}
