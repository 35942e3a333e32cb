import Foundation
import OffboardingCore
import OffboardingHTTPAPI
import Synchronization

/// The service as a route sees it, without Kafka or a PSA: each answer set by the test, each
/// submission recorded.
final class FakeBackend: OffboardingBackend {
    struct Answers {
        var company: Result<PSACompany, PSAError> = .success(PSACompany(id: "12345", name: "Example Client", status: "Offboarded"))
        var restorePlan: Result<RestorePlan, any Error> = .failure(RestoreRefusal(.unknown, "no result of an offboarding with event id e is on the results topic"))
        var result: HeldResult = .none
        var approvals: [String: ApprovalRecord] = [:]
        /// Newest first, as the results topic's reader holds them.
        var recentResults: [OffboardingResult] = []
        var kafkaDown = false
        var readiness: [String: HealthCheck] = ["kafka": HealthCheck(ok: true, detail: "ok")]
    }

    struct KafkaDown: Error {}

    let psa = PSAKind.connectwise
    let defaults = OffboardingOptions(offboardedStatuses: ["Offboarded"])
    let policy = OffboardingPolicy(offboardedStatuses: ["Offboarded"])
    let answers: Mutex<Answers>
    let events = Mutex<[CompanyStatusChangedEvent]>([])
    let decisions = Mutex<[ApprovalDecision]>([])
    /// Console sessions ended by signing out.
    let revokedSessions = Mutex<Set<String>>([])

    init(_ answers: Answers = .init()) {
        self.answers = Mutex(answers)
    }

    func submit(_ event: CompanyStatusChangedEvent) async throws {
        if answers.withLock({ $0.kafkaDown }) { throw KafkaDown() }
        events.withLock { $0.append(event) }
    }

    func submit(_ decision: ApprovalDecision) async throws {
        if answers.withLock({ $0.kafkaDown }) { throw KafkaDown() }
        decisions.withLock { $0.append(decision) }
    }

    func revokeSession(_ id: String, until: Date) async throws {
        guard !answers.withLock({ $0.kafkaDown }) else { throw KafkaDown() }
        revokedSessions.withLock { _ = $0.insert(id) }
    }

    func isSessionRevoked(_ id: String) -> Bool { revokedSessions.withLock { $0.contains(id) } }

    func latestResult(for eventID: String) -> HeldResult { answers.withLock { $0.result } }
    func approval(_ id: String) -> ApprovalRecord? { answers.withLock { $0.approvals[id] } }
    func decision(on approvalID: String) -> ApprovalDecision? {
        decisions.withLock { $0.first { $0.approvalID == approvalID } }
    }
    func pendingApprovals() -> [ApprovalRecord]? {
        answers.withLock { $0.approvals.values.filter { $0.state == .pending }.sorted { $0.requestedAt < $1.requestedAt } }
    }
    func recentResults(limit: Int) -> [[UInt8]]? {
        answers.withLock { $0.recentResults.prefix(limit).compactMap { try? ResultEncoding.encode($0) } }
    }
    func findCompany(_ reference: ClientReference) async throws(PSAError) -> PSACompany { try answers.withLock { $0.company }.get() }
    func restorePlan(for eventID: String) async throws -> RestorePlan { try answers.withLock { $0.restorePlan }.get() }
    func liveness() -> HealthCheck { HealthCheck(ok: true, detail: "polling") }
    func metricsExposition() -> [UInt8] { Array("# TYPE psa_offboarder_records_total counter\npsa_offboarder_records_total{outcome=\"received\"} 3\n".utf8) }
    func readiness() async -> [String: HealthCheck] { answers.withLock { $0.readiness } }
}
