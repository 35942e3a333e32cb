import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// `/health/ready` answers anyone, so it must neither spend the PSA's rate budget per request nor
/// tell an outsider what the PSA said.
@Suite(.timeLimit(.minutes(2)))
struct ReadinessTests {
    @Test func concurrentProbesShareOnePSACallAndNameOnlyTheFailingCheck() async throws {
        let logger = Logger.test()
        let kafka = try KafkaFixture(partitions: .service(each: 1), logger: logger)
        let topics = kafka.topics
        let simulator = ConnectWiseSimulator(data: .sample())
        try await SimulatorServer.serving(simulator) { server in
            // The PSA fails every probe with a body an outsider must not see.
            await simulator.inject(SimulatorFault(method: "GET", pathContains: "system/info", status: 401, times: nil))
            let credentials = ConnectWiseSimulator.Credentials.sandbox
            var configuration = OffboarderConfiguration(
                kafka: .init(bootstrapServers: kafka.bootstrapServers, groupID: "ready-\(UUID().uuidString)", topics: topics),
                psa: .connectwise(
                    .init(
                        baseURL: server.baseURL + ConnectWiseSimulator.apiPath, companyID: credentials.companyID, publicKey: credentials.publicKey,
                        privateKey: credentials.privateKey, clientID: credentials.clientID)),
                defaults: OffboardingOptions(offboardedStatuses: ["Offboarded"]))
            configuration.signingKeys = [PipelineHarness.signingKey]
            configuration.http = .init(host: "127.0.0.1", port: 0, apiTokens: [PipelineHarness.apiToken])
            let runtime = try OffboarderRuntime(configuration: configuration, logger: logger, signals: [])
            let run = Task { try await runtime.run() }
            let port = try #require(await runtime.httpServer?.boundPort())
            // The pipeline's own start-up reads (the company statuses ConnectWise flags inactive)
            // are done once the approvals are read: only the probes are counted.
            try await waitUntil(timeout: .seconds(60), "the approvals topic to be read") { runtime.pipeline.approvalsReady }
            let before = await simulator.requestCount
            let answers = try await withThrowingTaskGroup(of: APIResponse.self) { group in
                for _ in 0..<12 { group.addTask { try await APIClient.call(.GET, "http://127.0.0.1:\(port)/health/ready", token: nil) } }
                return try await group.reduce(into: [APIResponse]()) { $0.append($1) }
            }
            #expect(await simulator.requestCount - before == 1, "one probe for twelve concurrent readiness checks")
            for answer in answers {
                #expect(answer.status == 503)
                let psa = (answer.json["checks"] as? [String: [String: Any]])?["psa"]
                #expect(psa?["ok"] as? Bool == false)
                #expect(psa?["detail"] as? String == "connectwise probe failed: PSAConnectionError")
                let text = String(decoding: answer.body, as: UTF8.self)
                for secretish in ["Injected", "system/info", "127.0.0.1", String(server.port), kafka.bootstrapServers] {
                    #expect(!text.contains(secretish), "the body shows \(secretish)")
                }
            }
            // Answered from the cache while it is fresh: still one probe.
            let probed = ContinuousClock.now
            _ = try await APIClient.call(.GET, "http://127.0.0.1:\(port)/health/ready", token: nil)
            #expect(await simulator.requestCount - before == 1)
            // Fresh for 10 s: readiness asked all along is answered from it until then, and then probes again.
            try await waitUntil(timeout: .seconds(30), "a second probe once the first is 10 s old") {
                _ = try? await APIClient.call(.GET, "http://127.0.0.1:\(port)/health/ready", token: nil)
                return await simulator.requestCount - before == 2
            }
            #expect(ContinuousClock.now - probed >= .seconds(9), "the cached answer served for its 10 s")
            await runtime.triggerGracefulShutdown()
            try await run.value
        }
    }
}
