import Foundation
import OffboardingCore
import OffboardingHTTPAPI
import OffboardingKafka
import Synchronization

/// The running service as the HTTP API sees it.
final class ServiceBackend: OffboardingBackend {
    let psa: PSAKind
    let defaults: OffboardingOptions
    let policy: OffboardingPolicy
    private let client: any PSAClient
    private let producer: KafkaProducer
    private let pipeline: OffboardingPipeline
    private let topics: OffboarderConfiguration.Topics
    private struct ProbeState {
        var last: (at: ContinuousClock.Instant, check: HealthCheck)?
        var running: Task<HealthCheck, Never>?
    }

    private enum ProbeLookup {
        case cached(HealthCheck)
        case running(Task<HealthCheck, Never>)
    }

    private let lastProbe = Mutex(ProbeState())

    init(configuration: OffboarderConfiguration, client: any PSAClient, producer: KafkaProducer, pipeline: OffboardingPipeline) {
        self.psa = configuration.psa.kind
        self.defaults = configuration.defaults
        self.policy = configuration.policy
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
        pipeline.remember(decision)
    }

    func decision(on approvalID: String) -> ApprovalDecision? { pipeline.decision(on: approvalID) }

    func revokeSession(_ id: String, until: Date) async throws {
        let revocation = SessionRevocation(session: id, until: Timestamp.string(until))
        try await producer.send(
            KafkaOutgoingRecord(
                topic: topics.approvals, key: revocation.key, value: ApprovalMessage.sessionRevoked(revocation).encoded(),
                headers: [KafkaHeader(key: "content-type", string: "application/json")]))
        pipeline.remember(revocation)
    }

    func isSessionRevoked(_ id: String) -> Bool { pipeline.isSessionRevoked(id) }

    func latestResult(for eventID: String) -> HeldResult {
        switch pipeline.latestResult(for: eventID) {
        case .notReady: .notReady
        case .none: .none
        case .found(let bytes): .found(bytes)
        }
    }

    func approval(_ id: String) -> ApprovalRecord? { pipeline.approval(id) }

    func pendingApprovals() -> [ApprovalRecord]? { pipeline.pendingApprovalRecords }

    func recentResults(limit: Int) -> [[UInt8]]? { pipeline.recentResults(limit: limit) }

    func findCompany(_ reference: ClientReference) async throws(PSAError) -> PSACompany {
        try await client.findCompany(reference)
    }

    func restorePlan(for eventID: String) async throws -> RestorePlan {
        do {
            return try await pipeline.restores.plan(of: eventID, waiting: false)
        } catch is RestoreReadsBusy {
            throw BackendBusy(retryAfterSeconds: 5)
        }
    }

    func metricsExposition() -> [UInt8] { ServiceMetrics.exposition(pendingApprovals: pipeline.pendingApprovals) }

    func liveness() -> HealthCheck {
        let health = pipeline.health()
        return HealthCheck(ok: health.isLive, detail: health.description)
    }

    /// Unauthenticated, so nothing in it may help an outsider: details name the check that failed
    /// and the contract's error code, never PSA error text, URLs or broker addresses.
    func readiness() async -> [String: HealthCheck] {
        var checks: [String: HealthCheck] = [:]
        do {
            let partitions = try await producer.partitionCount(of: topics.events, timeout: .seconds(3))
            checks["kafka"] = HealthCheck(ok: true, detail: "the events topic has \(partitions) partitions")
        } catch {
            checks["kafka"] = HealthCheck(ok: false, detail: "the events topic's metadata could not be fetched")
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

    /// Probes spend the PSA's rate budget, and anyone may ask for readiness: one probe runs at a
    /// time, and its answer is reused for `probeLifetime`.
    private func probePSA() async -> HealthCheck {
        let lookup = lastProbe.withLock { state -> ProbeLookup in
            if let running = state.running { return .running(running) }
            if let last = state.last, ContinuousClock.now - last.at < Self.probeLifetime { return .cached(last.check) }
            let (client, psa) = (self.client, self.psa)
            let running = Task { () -> HealthCheck in
                do throws(PSAError) {
                    try await client.probe()
                    return HealthCheck(ok: true, detail: "\(psa) answered")
                } catch {
                    return HealthCheck(ok: false, detail: "\(psa) probe failed: \(error.code)")
                }
            }
            state.running = running
            return .running(running)
        }
        switch lookup {
        case .cached(let check):
            return check
        case .running(let probe):
            let check = await probe.value
            lastProbe.withLock { state in
                if state.running == probe {
                    state.running = nil
                    state.last = (.now, check)
                }
            }
            return check
        }
    }

    static let probeLifetime = Duration.seconds(10)
}
