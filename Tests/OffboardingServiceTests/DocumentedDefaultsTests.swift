import OffboardingCore
@testable import OffboardingHTTPAPI
@testable import OffboardingService
import OffboardingTestSupport
import Testing

/// The defaults the README's configuration table promises, read from a file that sets none of them,
/// and the schedules derived from them.
@Suite struct DocumentedDefaultsTests {
    static func parse(_ extra: String = "") throws -> OffboarderConfiguration {
        try OffboarderConfiguration.parse(yaml: ContractExample.signed + extra, environment: ContractExample.environment)
    }

    @Test func aFileThatSetsNothingGetsTheDocumentedDefaults() throws {
        let configuration = try Self.parse()
        let http = configuration.psa.http
        #expect(http.maxAttempts == 5)
        #expect(http.initialBackoff == .milliseconds(250) && http.maxBackoff == .seconds(10))
        #expect(http.maxRetryAfter == .seconds(60))
        #expect(http.budget == .seconds(120))
        #expect(http.requestTimeout == .seconds(30))
        #expect(configuration.retryTopicMaxAttempts == 5)
        #expect(configuration.retryTopicInitialDelay == .seconds(60) && configuration.retryTopicMaxDelay == .seconds(3600))
        #expect(configuration.outageBackoff == .seconds(1) && configuration.maxOutageBackoff == .seconds(60))
        #expect(configuration.outageMaxWait == .seconds(15 * 60))
        #expect(configuration.approvalLifetime == .seconds(72 * 3600))
        #expect(configuration.shutdownGrace == .seconds(20))
        #expect(configuration.longestStop == .seconds(35), "shutdown.grace and 15 s")
        #expect(configuration.maxConcurrentUpdates == 8)
    }

    @Test func theLongestStopFollowsTheGrace() throws {
        #expect(try Self.parse("\nshutdown: {grace: 5s}\n").longestStop == .seconds(20))
        #expect(try Self.parse("\nshutdown: {grace: 0s}\n").longestStop == .seconds(15))
    }

    @Test func retryTopicDelaysDoubleUpToTheLongest() throws {
        let publisher = OutcomePublisher.Configuration(
            topics: .init(events: "e", results: "r", deadLetter: "d"), psa: .connectwise, instanceID: "i", retryTopicMaxAttempts: 5,
            retryTopicInitialDelay: .seconds(60), retryTopicMaxDelay: .seconds(3600))
        #expect((1...8).map { publisher.retryDelay(after: $0) } == [60, 120, 240, 480, 960, 1920, 3600, 3600].map { Duration.seconds($0) })
        // An attempt number from outside (a header) never overflows the doubling.
        #expect(publisher.retryDelay(after: .max) == .seconds(3600) && publisher.retryDelay(after: 0) == .seconds(60))
    }

    /// The README's *Memory* figures: what the service holds of what it reads, by bytes.
    @Test func theMemoryBudgetsAreTheDocumentedOnes() {
        let ledger = ResultLedger.Limits()
        #expect(ledger.idBytes == 16 << 20 && ledger.bodyBytes == 64 << 20)
        let approvals = ApprovalsTopicView.Limits()
        #expect(approvals.pendingBytes == 32 << 20 && approvals.decidedBytes == 32 << 20 && approvals.journalBytes == 16 << 20)
        #expect(WebhookDeliveries().budget == 4 << 20)
        #expect(OffboardingPipeline.Configuration.defaultDecidedApprovalRetention == .seconds(7 * 86_400), "decided approvals tombstoned after a week")
    }

    /// The de-duplication window forgets its oldest deliveries when full, so a PSA repeating a
    /// delivery that old makes a second event (the consumer then finds its result and runs nothing).
    @Test func theWebhookWindowForgetsItsOldestDeliveriesFirst() {
        // Each id is 8 bytes: room for three.
        let deliveries = WebhookDeliveries(budget: 3 * (8 + RecentEntries<Void>.overhead))
        for id in ["d-000001", "d-000002", "d-000003"] { #expect(deliveries.claim(id)) }
        #expect(!deliveries.claim("d-000001"), "a repeat within the window is refused")
        #expect(deliveries.claim("d-000004"))
        #expect(deliveries.claim("d-000001"), "the oldest was forgotten to make room")
        #expect(!deliveries.claim("d-000004") && !deliveries.claim("d-000003"), "the newer are still known")
    }
}
