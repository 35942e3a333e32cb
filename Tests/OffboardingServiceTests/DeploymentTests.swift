import Foundation
import OffboardingService
import OffboardingTestSupport
import Testing

/// `deploy/`: the configuration the Kubernetes ConfigMap carries is one the service accepts, and
/// every metric the Grafana dashboard and the Prometheus setup query is one the service exports.
/// (`scripts/validate-deploy` checks the manifests against Kubernetes' schemas.)
@Suite(.timeLimit(.minutes(2)))
struct DeploymentTests {
    /// The `config.yaml` block of the ConfigMap, as the pod sees it mounted.
    static func configMapConfiguration() throws -> String {
        let manifest = try String(contentsOf: Repository.file("deploy/kubernetes/configmap.yaml"), encoding: .utf8)
        let lines = manifest.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "config.yaml: |" })
        return lines[(start + 1)...].prefix { $0.isEmpty || $0.hasPrefix("    ") }.map { $0.dropFirst(min(4, $0.count)) }.joined(separator: "\n")
    }

    /// The Secret's keys, with its placeholder values: what the pod's environment holds.
    static func secretEnvironment() throws -> [String: String] {
        let manifest = try String(contentsOf: Repository.file("deploy/kubernetes/secret.yaml"), encoding: .utf8)
        var environment: [String: String] = [:]
        for line in manifest.split(separator: "\n") {
            guard let match = line.wholeMatch(of: /\s\s([A-Z0-9_]+): "(.*)"/) else { continue }
            environment[String(match.1)] = String(match.2)
        }
        return environment
    }

    @Test func theConfigMapHoldsAConfigurationTheServiceAccepts() throws {
        let environment = try Self.secretEnvironment()
        #expect(environment.keys.contains("CW_PRIVATE_KEY") && environment.keys.contains("PSA_OFFBOARDER_API_TOKENS"))
        let configuration = try OffboarderConfiguration.parse(yaml: try Self.configMapConfiguration(), environment: environment)
        #expect(configuration.kafka.groupID == "psa-offboarder")
        #expect(configuration.http?.port == 8080)
        #expect(configuration.schedule != nil, "one replica sweeps on schedule.cron")
        // The pod's grace outlasts the service's own bound on a stop.
        let deployment = try String(contentsOf: Repository.file("deploy/kubernetes/deployment.yaml"), encoding: .utf8)
        let podGrace = try #require(deployment.firstMatch(of: /terminationGracePeriodSeconds: (\d+)/).flatMap { Int($0.1) })
        #expect(Duration.seconds(podGrace) > configuration.shutdownGrace + .seconds(15))
    }

    @Test func everyMetricTheDashboardQueriesIsExported() async throws {
        let dashboard = try String(contentsOf: Repository.file("deploy/grafana/psa-offboarder.json"), encoding: .utf8)
        let queried = Set(dashboard.matches(of: /psa_offboarder_[a-z_]+/).map { String($0.0).replacing(/_(bucket|count|sum)$/, with: "") })
        #expect(queried.count >= 10, "\(queried)")
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let (client, _) = await harness.makeClient(active: 1)
        let event = harness.event(forClient: client)
        try await harness.send(event)
        _ = try await harness.result(for: event.id)
        // The lag gauges come with librdkafka's first statistics after the assignment.
        var missing: Set<String> = []
        try await waitUntil(timeout: .seconds(30), "every queried metric on /metrics") {
            guard let text = try? await MetricsScrape.of(harness).text else { return false }
            missing = queried.filter { !text.contains("# TYPE \($0) ") }
            return missing.isEmpty
        }
        #expect(missing.isEmpty, "not exported: \(missing)")
    }
}
