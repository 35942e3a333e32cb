import Foundation
import OffboardingCore
import OffboardingHTTPAPI
import OffboardingKafka
import Synchronization

/// The running service as the HTTP API sees it.
final class ServiceBackend: OffboardingBackend {
    let psa: PSAKind
    let defaults: OffboardingOptions
    private let client: any PSAClient
    private let producer: KafkaProducer
    private let pipeline: OffboardingPipeline
    private let topics: OffboarderConfiguration.Topics
    /// The last PSA probe, reused for a while so that frequent probes do not spend the PSA's rate limit.
    private let lastProbe = Mutex<(at: ContinuousClock.Instant, check: HealthCheck)?>(nil)

    init(configuration: OffboarderConfiguration, client: any PSAClient, producer: KafkaProducer, pipeline: OffboardingPipeline) {
        self.psa = configuration.psa.kind
        self.defaults = configuration.defaults
        self.client = client
        self.producer = producer
        self.pipeline = pipeline
        self.topics = configuration.kafka.topics
    }

    func submit(_ event: CompanyStatusChangedEvent) async throws {
        try await producer.send(.event(event, topic: topics.events))
    }

    func submit(_ decision: ApprovalDecision) async throws {
        try await producer.send(
            KafkaOutgoingRecord(
                topic: topics.approvals, key: decision.approvalID, value: ApprovalMessage.decision(decision).encoded(),
                headers: [KafkaHeader(key: "content-type", string: "application/json")]))
    }

    func latestResult(for eventID: String) -> HeldResult {
        switch pipeline.latestResult(for: eventID) {
        case .notReady: .notReady
        case .none: .none
        case .found(let bytes): .found(bytes)
        }
    }

    func approval(_ id: String) -> ApprovalRecord? { pipeline.approval(id) }

    func findCompany(_ reference: ClientReference) async throws(PSAError) -> PSACompany {
        try await client.findCompany(reference)
    }

    func liveness() -> HealthCheck {
        let health = pipeline.health()
        return HealthCheck(ok: health.isLive, detail: health.description)
    }

    func readiness() async -> [String: HealthCheck] {
        var checks: [String: HealthCheck] = [:]
        do {
            let partitions = try await producer.partitionCount(of: topics.events, timeout: .seconds(3))
            checks["kafka"] = HealthCheck(ok: true, detail: "\(topics.events) has \(partitions) partitions")
        } catch {
            checks["kafka"] = HealthCheck(ok: false, detail: "metadata of \(topics.events) not fetched: \(error)")
        }
        checks["psa"] = await probePSA()
        let health = pipeline.health()
        switch health.state {
        case .healthy:
            checks["consumer"] = HealthCheck(ok: true, detail: health.description)
        case .starting where pipeline.approvalsReady:
            // A member of a group with more members than partitions may own none, and is still ready.
            checks["consumer"] = HealthCheck(ok: true, detail: "polling, \(health.description)")
        default:
            checks["consumer"] = HealthCheck(ok: false, detail: health.description)
        }
        return checks
    }

    private func probePSA() async -> HealthCheck {
        if let last = lastProbe.withLock({ $0 }), ContinuousClock.now - last.at < .seconds(10) { return last.check }
        let check: HealthCheck
        do {
            try await client.probe()
            check = HealthCheck(ok: true, detail: "\(psa) answered")
        } catch {
            check = HealthCheck(ok: false, detail: "\(psa): \(error.code): \(error.message)")
        }
        lastProbe.withLock { $0 = (.now, check) }
        return check
    }
}
