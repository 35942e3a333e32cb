import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// The one-off commands (`run`, `restore`, `sweep`): the same PSA client, offboarder, restore
/// lookup and publisher as the service, each made for one command and shut down after it.
public enum ManualCommands {
    /// What `run` or `restore` did: the result, and why it (or its approval) could not be published, if so.
    public struct Outcome: Sendable {
        public var result: OffboardingResult
        /// Set when the result was produced but not published; the result is still the truth.
        public var publishFailure: String?
    }

    /// One client now (`run`): checks that Kafka answers before anything is written to the PSA,
    /// offboards the client, keeps a pending approval on the approvals topic (as the service
    /// does, so that it can be approved later), and publishes the result to the results topic.
    /// - Throws: when Kafka cannot be reached before the run; nothing was written then.
    /// - Parameter progress: told how the run goes, with the PSA's pacing at the time.
    public static func run(
        _ request: OffboardingRequest, configuration: OffboarderConfiguration, logger: Logger, progress: OffboarderRuntime.ProgressObserver? = nil
    ) async throws -> Outcome {
        let kafka = try Kafka(configuration: configuration, logger: logger)
        let topics = configuration.kafka.topics
        do {
            // A result that cannot be published after the PSA was changed would be known to nobody.
            _ = try await kafka.producer.partitionCount(of: topics.results, timeout: .seconds(10))
            if request.options.requireApproval || configuration.defaults.requireApproval || configuration.scope.maxConfigs != nil {
                _ = try await kafka.producer.partitionCount(of: topics.approvals, timeout: .seconds(10))
            }
        } catch {
            await kafka.producer.shutdown()
            throw KafkaUnreachable(bootstrapServers: configuration.kafka.bootstrapServers, detail: "\(error)")
        }
        let outcome = await withOffboarder(configuration, logger: logger, progress: progress) { await $0.runDetailed(request) }
        var run = Outcome(result: outcome.result)
        if let approval = outcome.pendingApproval {
            // Kept before the result is visible, as the service does.
            run.publishFailure = failure(of: await kafka.publisher.write(approval: approval, logger: logger), topic: topics.approvals)
        }
        if run.publishFailure == nil {
            run.publishFailure = failure(of: await kafka.publisher.publishResult(outcome.result, of: request, attempt: 1, logger: logger), topic: topics.results)
        }
        await kafka.producer.shutdown()
        return run
    }

    /// Undoes one offboarding now (`restore`): reads every result of `eventID` from the results
    /// topic, puts back what it deactivated, and publishes the restore's result.
    /// - Throws: `RestoreRefusal` when there is nothing to undo, `KafkaUnreachable` when Kafka
    ///   cannot be read; nothing was written to the PSA then.
    public static func restore(
        eventID: String, dryRun: Bool, reason: String?, configuration: OffboarderConfiguration, logger: Logger,
        progress: OffboarderRuntime.ProgressObserver? = nil
    ) async throws -> Outcome {
        let kafka = try Kafka(configuration: configuration, logger: logger)
        let plan: RestorePlan
        do {
            plan = try await kafka.restores.plan(of: eventID)
        } catch let refusal as RestoreRefusal {
            await kafka.producer.shutdown()
            throw refusal
        } catch {
            await kafka.producer.shutdown()
            throw KafkaUnreachable(bootstrapServers: configuration.kafka.bootstrapServers, detail: "\(error)")
        }
        let restore = Offboarder.RestoreRequest(eventID: UUID().uuidString.lowercased(), plan: plan, dryRun: dryRun, reason: reason)
        let outcome = await withOffboarder(configuration, logger: logger, progress: progress) { await $0.restore(restore) }
        var run = Outcome(result: outcome.result)
        let request = OffboardingRequest(eventID: restore.eventID, trigger: .restore, client: .id(outcome.result.clientID), options: configuration.defaults)
        run.publishFailure = failure(
            of: await kafka.publisher.publishResult(outcome.result, of: request, attempt: 1, logger: logger), topic: configuration.kafka.topics.results)
        await kafka.producer.shutdown()
        return run
    }

    /// One sweep now (`sweep`): puts an event (trigger `schedule`) on the events topic for every
    /// offboarded client that still has active configurations.
    public static func sweep(configuration: OffboarderConfiguration, logger: Logger) async throws -> Sweeper.Report {
        let kafka = try Kafka(configuration: configuration, logger: logger)
        let httpClient = OffboarderRuntime.makeHTTPClient(for: configuration)
        let sweeper = Sweeper(
            psa: OffboarderRuntime.makePSAClient(configuration.psa, httpClient: httpClient, logger: logger), criteria: configuration.criteria, logger: logger)
        let topic = configuration.kafka.topics.events
        let outcome: Result<Sweeper.Report, any Error>
        do {
            outcome = .success(
                try await sweeper.sweep(slot: Sweeper.slot(for: Date())) { event in
                    switch await kafka.publisher.send(.event(event, topic: topic), logger: logger) {
                    case .published: return
                    case .stopping: throw CancellationError()
                    case .rejected(let error): throw error
                    case .gaveUp(let error): throw error
                    }
                })
        } catch {
            outcome = .failure(error)
        }
        await kafka.producer.shutdown()
        try await httpClient.shutdown()
        return try outcome.get()
    }

    /// The Kafka side of one command: a signing producer, the publisher (one attempt per record,
    /// as a command reports rather than waits) and the restore lookup.
    private struct Kafka {
        let producer: KafkaProducer
        let publisher: OutcomePublisher
        let restores: RestoreLookup

        init(configuration: OffboarderConfiguration, logger: Logger) throws {
            let pipeline = try configuration.pipelineConfiguration()
            producer = try KafkaProducer(configuration: try configuration.producerConfiguration(), logger: logger)
            let sending = KafkaSending(producer: producer, stopSignal: StopSignal(), statistics: PipelineStatistics(), patience: .zero)
            publisher = OutcomePublisher(configuration: pipeline.publishing, sending: sending, views: PipelineViews())
            restores = RestoreLookup(
                configuration: .init(
                    bootstrapServers: configuration.kafka.bootstrapServers, resultsTopic: configuration.kafka.topics.results,
                    properties: pipeline.readerProperties, signer: pipeline.signer),
                producer: producer, views: nil, reads: RestoreReads(), logger: logger)
        }
    }

    private static func withOffboarder(
        _ configuration: OffboarderConfiguration, logger: Logger, progress: OffboarderRuntime.ProgressObserver?,
        _ body: (Offboarder) async -> Offboarder.Outcome
    ) async -> Offboarder.Outcome {
        let httpClient = OffboarderRuntime.makeHTTPClient(for: configuration)
        let client = OffboarderRuntime.makePSAClient(configuration.psa, httpClient: httpClient, logger: logger)
        let outcome = await body(OffboarderRuntime.makeOffboarder(configuration, client: client, logger: logger, progress: progress))
        try? await httpClient.shutdown()
        return outcome
    }

    private static func failure(of sent: KafkaSending.Sent, topic: String) -> String? {
        switch sent {
        case .published: nil
        case .stopping: "the result could not be published to \(topic): stopped"
        case .rejected(let error): "the result could not be published to \(topic): \(error)"
        case .gaveUp(let error): "the result could not be published to \(topic): \(error)"
        }
    }
}

/// Kafka did not answer before a manual run; nothing was written to the PSA.
public struct KafkaUnreachable: Error, CustomStringConvertible {
    public var bootstrapServers: String
    public var detail: String

    public var description: String {
        "Kafka at \(bootstrapServers) did not answer (\(detail)); nothing was written to the PSA"
    }
}
