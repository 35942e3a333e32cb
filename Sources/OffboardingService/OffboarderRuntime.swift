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
        let httpClient = Self.makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates)
        do {
            let producer = try KafkaProducer(configuration: Self.producerConfiguration(configuration), logger: logger)
            let client = Self.makePSAClient(configuration.psa, httpClient: httpClient, logger: logger)
            let offboarder = Self.makeOffboarder(configuration, client: client, logger: logger)
            let pipeline = try OffboardingPipeline(
                configuration: Self.pipelineConfiguration(configuration), producer: producer, offboarder: offboarder, logger: logger)
            self.producer = producer
            self.pipeline = pipeline
            let backend = ServiceBackend(configuration: configuration, client: client, producer: producer, pipeline: pipeline)
            // Started in this order, stopped in reverse: the HTTP server and the schedule stop
            // first, then the pipeline drains, then the producer flushes.
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: producer),
                .init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
            ]
            if let http = configuration.http {
                let environmentTokens = (ProcessInfo.processInfo.environment["PSA_OFFBOARDER_API_TOKENS"] ?? "")
                    .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                let webhooks = configuration.webhooks
                let server = OffboardingHTTPServer(
                    configuration: .init(
                        host: http.host, port: http.port, apiTokens: http.apiTokens + environmentTokens,
                        webhooks: .init(
                            connectWiseKeyURLHosts: webhooks.connectWiseKeyURLHosts, autotaskSecret: webhooks.autotaskSecret,
                            haloUsername: webhooks.haloCredentials?.username, haloPassword: webhooks.haloCredentials?.password)),
                    backend: backend, httpClient: httpClient, logger: logger)
                self.httpServer = server
                services.append(.init(service: server, failureTerminationBehavior: .gracefullyShutdownGroup))
            } else {
                self.httpServer = nil
            }
            if let schedule = configuration.schedule {
                let sweeper = Sweeper(psa: client, offboardedStatuses: configuration.defaults.offboardedStatuses, logger: logger)
                services.append(
                    .init(
                        service: SweepScheduler(
                            schedule: schedule, sweeper: sweeper, pipeline: pipeline, eventsTopic: configuration.kafka.topics.events,
                            submit: { try await backend.submit($0) }, logger: logger)))
            }
            self.group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: signals, logger: logger))
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
    /// keeps 8 connections per host by default, which would quietly serialise a higher bound.
    public static func makeHTTPClient(maxConcurrentUpdates: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
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

    static func makeOffboarder(_ configuration: OffboarderConfiguration, client: any PSAClient, logger: Logger) -> Offboarder {
        Offboarder(
            psa: client,
            configuration: .init(
                maxConcurrentUpdates: configuration.maxConcurrentUpdates, scope: configuration.scope,
                writeReasonToNotes: configuration.writeReasonToNotes, approvalLifetime: configuration.approvalLifetime),
            logger: logger)
    }

    static func producerConfiguration(_ configuration: OffboarderConfiguration) -> KafkaProducer.Configuration {
        KafkaProducer.Configuration(bootstrapServers: configuration.kafka.bootstrapServers, properties: configuration.kafka.properties)
    }

    public static func pipelineConfiguration(_ configuration: OffboarderConfiguration) -> OffboardingPipeline.Configuration {
        var pipeline = OffboardingPipeline.Configuration(
            consumer: KafkaConsumer.Configuration(
                bootstrapServers: configuration.kafka.bootstrapServers, groupID: configuration.kafka.groupID,
                topics: [configuration.kafka.topics.events, configuration.kafka.topics.retry], properties: configuration.kafka.properties),
            topics: configuration.kafka.topics, psa: configuration.psa.kind, defaults: configuration.defaults,
            outageBackoff: configuration.outageBackoff, maxOutageBackoff: configuration.maxOutageBackoff)
        pipeline.retryTopicMaxAttempts = configuration.retryTopicMaxAttempts
        pipeline.retryTopicInitialDelay = configuration.retryTopicInitialDelay
        pipeline.retryTopicMaxDelay = configuration.retryTopicMaxDelay
        pipeline.approvalExpiryInterval = configuration.approvalExpiryInterval
        return pipeline
    }

    /// One sweep now (`sweep`): puts an event (trigger `schedule`) on the events topic for every
    /// offboarded client that still has active configurations.
    public static func sweepOnce(configuration: OffboarderConfiguration, logger: Logger) async throws -> Sweeper.Report {
        let httpClient = makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates)
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(configuration: producerConfiguration(configuration), logger: logger)
        } catch {
            try await httpClient.shutdown()
            throw error
        }
        let sweeper = Sweeper(
            psa: makePSAClient(configuration.psa, httpClient: httpClient, logger: logger),
            offboardedStatuses: configuration.defaults.offboardedStatuses, logger: logger)
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

    /// One client now (`run`): offboards it, publishes the result to the results topic and returns it.
    public static func runOnce(
        request: OffboardingRequest, configuration: OffboarderConfiguration, logger: Logger
    ) async throws -> OffboardingResult {
        let httpClient = makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates)
        let client = makePSAClient(configuration.psa, httpClient: httpClient, logger: logger)
        let result = await makeOffboarder(configuration, client: client, logger: logger).run(request)
        try await httpClient.shutdown()
        let producer = try KafkaProducer(configuration: producerConfiguration(configuration), logger: logger)
        do {
            try await producer.send(
                KafkaOutgoingRecord(
                    topic: configuration.kafka.topics.results, key: result.clientID, value: try ResultEncoding.encode(result),
                    headers: [KafkaHeader(key: "content-type", string: "application/json")]))
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
        return result
    }
}
