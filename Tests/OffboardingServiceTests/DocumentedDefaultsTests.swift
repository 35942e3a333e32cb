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
}
