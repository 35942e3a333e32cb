import AsyncHTTPClient
import Foundation
import Logging
import OffboardingCore
import OffboardingHTTPAPI
import OffboardingKafka
import PSAAutotask
import PSAConnectWise
import PSAHalo
import ServiceLifecycle
import UnixSignals

/// The composition root: builds the PSA client, the producer, the consumer pipeline and, when
/// configured, the HTTP server and the sweep schedule, and runs them with graceful shutdown.
public final class OffboarderRuntime: Sendable {
    public let pipeline: OffboardingPipeline
    /// Present when `http.listen` is configured.
    public let httpServer: OffboardingHTTPServer?
    private let producer: KafkaProducer
    private let httpClient: HTTPClient
    private let group: ServiceGroup

    /// - Parameter signals: the signals that start a graceful shutdown (none in tests and `demo`).
    public init(configuration: OffboarderConfiguration, logger: Logger, signals: [UnixSignal] = [.sigterm, .sigint]) throws {
        // Before anything that counts is made: a metric made earlier would count nowhere.
        ServiceMetrics.bootstrap()
        let signer = try configuration.requireSigner()
        let httpClient = Self.makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates)
        do {
            let pipelineConfiguration = try Self.pipelineConfiguration(configuration)
            let kafkaClients = KafkaClientCounters()
            var producerConfiguration = try Self.producerConfiguration(configuration)
            producerConfiguration.statisticsInterval = pipelineConfiguration.statisticsInterval
            let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger) { kafkaClients.record($0, client: "producer") }
            let client = Self.makePSAClient(configuration.psa, httpClient: httpClient, logger: logger)
            let offboarder = Self.makeOffboarder(configuration, client: client, logger: logger)
            let pipeline = try OffboardingPipeline(
                configuration: pipelineConfiguration, producer: producer, offboarder: offboarder, kafkaClients: kafkaClients, logger: logger)
            self.producer = producer
            self.pipeline = pipeline
            let backend = ServiceBackend(configuration: configuration, client: client, producer: producer, pipeline: pipeline)
            // Started in this order, stopped in reverse: the HTTP server and the schedule stop
            // first, then the pipeline drains, then the producer flushes.
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            // First, so that it stops last and exports the spans of everything that stopped before.
            if let endpoint = configuration.tracingOTLPEndpoint, let tracing = try ServiceTracing.bootstrap(endpoint: endpoint, logger: logger) {
                services.append(.init(service: tracing))
            }
            services += [
                .init(service: producer),
                .init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
            ]
            if let http = configuration.http {
                let webhooks = configuration.webhooks
                let connectWiseCompany: String? = if case .connectwise(let cw) = configuration.psa { cw.companyID } else { nil }
                var server = OffboardingHTTPServer.Configuration(
                    host: http.host, port: http.port, apiTokens: http.apiTokens,
                    webhooks: .init(
                        connectWiseKeyURLHosts: webhooks.connectWiseKeyURLHosts, connectWiseCompanyID: connectWiseCompany,
                        autotaskSecret: webhooks.autotaskSecret, haloUsername: webhooks.haloCredentials?.username,
                        haloPassword: webhooks.haloCredentials?.password))
                server.timeouts = http.timeouts
                server.maxConnections = http.maxConnections
                server.secureCookies = http.secureCookies
                server.sessionSecret = signer.primaryKey
                server.webhooks.connectWiseKeyRefreshInterval = webhooks.connectWiseKeyRefreshInterval
                let httpServer = OffboardingHTTPServer(configuration: server, backend: backend, logger: logger)
                self.httpServer = httpServer
                services.append(.init(service: httpServer, failureTerminationBehavior: .gracefullyShutdownGroup))
            } else {
                self.httpServer = nil
            }
            if let schedule = configuration.schedule {
                let sweeper = Sweeper(psa: client, criteria: configuration.criteria, logger: logger)
                services.append(
                    .init(
                        service: SweepScheduler(
                            schedule: schedule, sweeper: sweeper,
                            isSweeper: { [events = configuration.kafka.topics.events] in
                                pipeline.assignment.contains(KafkaTopicPartition(topic: events, partition: 0))
                            },
                            submit: { try await backend.submit($0) }, logger: logger)))
            }
            var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals, logger: logger)
            // Beyond the pipeline's own bound (its grace, then commit, close and flush), so that
            // only a stop that hangs is cut short.
            groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace + .seconds(15)
            self.group = ServiceGroup(configuration: groupConfiguration)
        } catch {
            try? httpClient.syncShutdown()
            throw error
        }
        self.httpClient = httpClient
    }

    /// Runs until a graceful shutdown (signal or `triggerGracefulShutdown()`) has drained the
    /// pipeline, left the group and flushed the producer.
    public func run() async throws {
        do {
            try await group.run()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    public func triggerGracefulShutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// An HTTP client whose connection pool does not cap the deactivation bound: async-http-client
    /// keeps 8 connections per host by default, which would quietly serialise a higher bound. It
    /// follows no redirect: a redirect would carry the PSA's credentials (and a webhook key fetch)
    /// to wherever the answer points, and the adapters report it as an error instead.
    public static func makeHTTPClient(maxConcurrentUpdates: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, maxConcurrentUpdates + 2))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Makes the PSA adapter the configuration names.
    public static func makePSAClient(_ psa: OffboarderConfiguration.PSA, httpClient: HTTPClient, logger: Logger) -> any PSAClient {
        switch psa {
        case .connectwise(let configuration):
            ConnectWiseClient(configuration: configuration, httpClient: httpClient, logger: logger)
        case .autotask(let configuration):
            AutotaskClient(configuration: configuration, httpClient: httpClient, logger: logger)
        case .halopsa(let configuration):
            HaloClient(configuration: configuration, httpClient: httpClient, logger: logger)
        }
    }

    public typealias ProgressObserver = @Sendable (RunProgress, PSAPacing?) -> Void

    static func makeOffboarder(
        _ configuration: OffboarderConfiguration, client: any PSAClient, logger: Logger, progress: ProgressObserver? = nil
    ) -> Offboarder {
        Offboarder(
            psa: client,
            configuration: .init(
                maxConcurrentUpdates: configuration.maxConcurrentUpdates, scope: configuration.scope,
                writeReasonToNotes: configuration.writeReasonToNotes, approvalLifetime: configuration.approvalLifetime,
                policy: configuration.policy),
            logger: logger, progress: { [client] event in progress?(event, client.pacing) })
    }

    /// Every producer of the service signs what it writes.
    static func producerConfiguration(_ configuration: OffboarderConfiguration) throws(ConfigurationError) -> KafkaProducer.Configuration {
        let signer = try configuration.requireSigner()
        var producer = KafkaProducer.Configuration(bootstrapServers: configuration.kafka.bootstrapServers, properties: configuration.kafka.properties)
        producer.seal = { signer.sign(&$0) }
        return producer
    }

    public static func pipelineConfiguration(_ configuration: OffboarderConfiguration) throws(ConfigurationError) -> OffboardingPipeline.Configuration {
        var pipeline = OffboardingPipeline.Configuration(
            consumer: KafkaConsumer.Configuration(
                bootstrapServers: configuration.kafka.bootstrapServers, groupID: configuration.kafka.groupID,
                topics: [configuration.kafka.topics.events, configuration.kafka.topics.retry], properties: configuration.kafka.properties),
            topics: configuration.kafka.topics, psa: configuration.psa.kind, defaults: configuration.defaults, signer: try configuration.requireSigner(),
            outageBackoff: configuration.outageBackoff, maxOutageBackoff: configuration.maxOutageBackoff)
        pipeline.criteria = configuration.criteria
        pipeline.retryTopicMaxAttempts = configuration.retryTopicMaxAttempts
        pipeline.retryTopicInitialDelay = configuration.retryTopicInitialDelay
        pipeline.retryTopicMaxDelay = configuration.retryTopicMaxDelay
        pipeline.approvalExpiryInterval = configuration.approvalExpiryInterval
        pipeline.revocationGrace = configuration.revocationGrace
        pipeline.outageMaxWait = configuration.outageMaxWait
        pipeline.shutdownGrace = configuration.shutdownGrace
        return pipeline
    }

    /// One sweep now (`sweep`): puts an event (trigger `schedule`) on the events topic for every
    /// offboarded client that still has active configurations.
    public static func sweepOnce(configuration: OffboarderConfiguration, logger: Logger) async throws -> Sweeper.Report {
        let httpClient = makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates)
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(configuration: try producerConfiguration(configuration), logger: logger)
        } catch {
            try await httpClient.shutdown()
            throw error
        }
        let sweeper = Sweeper(
            psa: makePSAClient(configuration.psa, httpClient: httpClient, logger: logger),
            criteria: configuration.criteria, logger: logger)
        let topic = configuration.kafka.topics.events
        let outcome: Result<Sweeper.Report, any Error>
        do {
            outcome = .success(
                try await sweeper.sweep(slot: Sweeper.slot(for: Date())) { event in
                    try await producer.send(.event(event, topic: topic))
                })
        } catch {
            outcome = .failure(error)
        }
        await producer.shutdown()
        try await httpClient.shutdown()
        return try outcome.get()
    }

    /// What `run` did: the result, and why it (or its approval) could not be published, if so.
    public struct ManualRun: Sendable {
        public var result: OffboardingResult
        /// Set when the result was produced but not published; the result is still the truth.
        public var publishFailure: String?
    }

    /// One client now (`run`): checks that Kafka answers before anything is written to the PSA,
    /// offboards the client, keeps a pending approval on the approvals topic (as the service
    /// does, so that it can be approved later), and publishes the result to the results topic.
    /// - Throws: when Kafka cannot be reached before the run; nothing was written then.
    /// - Parameter progress: told how the run goes, with the PSA's pacing at the time.
    public static func runOnce(
        request: OffboardingRequest, configuration: OffboarderConfiguration, logger: Logger, progress: ProgressObserver? = nil
    ) async throws -> ManualRun {
        let producer = try KafkaProducer(configuration: try producerConfiguration(configuration), logger: logger)
        let topics = configuration.kafka.topics
        do {
            // A result that cannot be published after the PSA was changed would be known to nobody.
            _ = try await producer.partitionCount(of: topics.results, timeout: .seconds(10))
            if request.options.requireApproval || configuration.defaults.requireApproval || configuration.scope.maxConfigs != nil {
                _ = try await producer.partitionCount(of: topics.approvals, timeout: .seconds(10))
            }
        } catch {
            await producer.shutdown()
            throw KafkaUnreachable(bootstrapServers: configuration.kafka.bootstrapServers, detail: "\(error)")
        }
        let httpClient = makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates)
        let client = makePSAClient(configuration.psa, httpClient: httpClient, logger: logger)
        let outcome = await makeOffboarder(configuration, client: client, logger: logger, progress: progress).runDetailed(request)
        try? await httpClient.shutdown()
        var run = ManualRun(result: outcome.result)
        do {
            if let approval = outcome.pendingApproval {
                // Kept before the result is visible, as the service does.
                try await producer.send(
                    KafkaOutgoingRecord(
                        topic: topics.approvals, key: approval.approvalID, value: ApprovalMessage.record(approval).encoded(),
                        headers: [KafkaHeader(key: "content-type", string: "application/json")]))
            }
            try await publish(outcome.result, to: topics.results, with: producer)
        } catch {
            run.publishFailure = "the result could not be published to \(topics.results): \(error)"
        }
        await producer.shutdown()
        return run
    }

    /// With the headers the service's results carry, so that the ledger and a restore find it by its event id.
    private static func publish(_ result: OffboardingResult, to topic: String, with producer: KafkaProducer) async throws {
        try await producer.send(
            KafkaOutgoingRecord(
                topic: topic, key: result.clientID, value: try ResultEncoding.encode(result),
                headers: [KafkaHeader(key: "content-type", string: "application/json"), KafkaHeader(key: "offboarding.event.id", string: result.eventID)]))
    }

    /// Undoes one offboarding now (`restore`): reads every result of `eventID` from the results
    /// topic, puts back what it deactivated, and publishes the restore's result.
    /// - Throws: `RestoreRefusal` when there is nothing to undo, `KafkaUnreachable` when Kafka
    ///   cannot be read; nothing was written to the PSA then.
    public static func restoreOnce(
        eventID: String, dryRun: Bool, reason: String?, configuration: OffboarderConfiguration, logger: Logger, progress: ProgressObserver? = nil
    ) async throws -> ManualRun {
        let producer = try KafkaProducer(configuration: try producerConfiguration(configuration), logger: logger)
        let topics = configuration.kafka.topics
        let results: [OffboardingResult]
        do {
            var properties = configuration.kafka.properties
            properties.removeValue(forKey: "group.id")
            results = try await ResultHistory.results(
                of: eventID, bootstrapServers: configuration.kafka.bootstrapServers, topic: topics.results,
                partitionCount: try await producer.partitionCount(of: topics.results, timeout: .seconds(10)), properties: properties,
                signer: try configuration.requireSigner(), logger: logger)
        } catch {
            await producer.shutdown()
            throw KafkaUnreachable(bootstrapServers: configuration.kafka.bootstrapServers, detail: "\(error)")
        }
        let plan: RestorePlan
        do {
            plan = try RestorePlan.make(eventID: eventID, from: results)
        } catch {
            await producer.shutdown()
            throw error
        }
        let httpClient = makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates)
        let client = makePSAClient(configuration.psa, httpClient: httpClient, logger: logger)
        let outcome = await makeOffboarder(configuration, client: client, logger: logger, progress: progress).restore(
            .init(eventID: UUID().uuidString.lowercased(), plan: plan, dryRun: dryRun, reason: reason))
        try? await httpClient.shutdown()
        var run = ManualRun(result: outcome.result)
        do {
            try await publish(outcome.result, to: topics.results, with: producer)
        } catch {
            run.publishFailure = "the result could not be published to \(topics.results): \(error)"
        }
        await producer.shutdown()
        return run
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
