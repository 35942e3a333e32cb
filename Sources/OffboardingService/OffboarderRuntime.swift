import AsyncHTTPClient
import Foundation
import Logging
import OffboardingCore
import OffboardingHTTPAPI
import OffboardingKafka
import PSAHTTP
import ServiceLifecycle
import UnixSignals

/// The composition root: builds the PSA client, the producer, the consumer pipeline and, when
/// configured, the HTTP server, the notices and the sweep schedule, and runs them with graceful
/// shutdown.
public final class OffboarderRuntime: Sendable {
    public let pipeline: OffboardingPipeline
    /// Present when `http.listen` is configured.
    public let httpServer: OffboardingHTTPServer?
    private let producer: KafkaProducer
    /// The PSA's adapter, whose pacing tests read.
    package let psa: any PSAClient
    private let httpClient: HTTPClient
    private let group: ServiceGroup

    /// - Parameter signals: the signals that start a graceful shutdown (none in tests and `demo`).
    public init(configuration: OffboarderConfiguration, logger: Logger, signals: [UnixSignal] = [.sigterm, .sigint]) throws {
        // Before anything that counts is made: a metric made earlier would count nowhere.
        ServiceMetrics.bootstrap()
        let signer = try configuration.requireSigner()
        let httpClient = Self.makeHTTPClient(for: configuration)
        do {
            let pipelineConfiguration = try configuration.pipelineConfiguration()
            let kafkaClients = KafkaClientCounters()
            var producerConfiguration = try configuration.producerConfiguration()
            producerConfiguration.statisticsInterval = pipelineConfiguration.statisticsInterval
            let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger) { kafkaClients.record($0, client: "producer") }
            let client = Self.makePSAClient(configuration.psa, httpClient: httpClient, logger: logger)
            let offboarder = Self.makeOffboarder(configuration, client: client, logger: logger)
            let pipeline = try OffboardingPipeline(
                configuration: pipelineConfiguration, producer: producer, offboarder: offboarder, kafkaClients: kafkaClients, logger: logger)
            self.producer = producer
            self.pipeline = pipeline
            self.psa = client
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
            if let server = configuration.httpServerConfiguration(signer: signer) {
                let httpServer = OffboardingHTTPServer(configuration: server, backend: backend, logger: logger)
                self.httpServer = httpServer
                services.append(.init(service: httpServer, failureTerminationBehavior: .gracefullyShutdownGroup))
            } else {
                self.httpServer = nil
            }
            if !configuration.notify.channels.isEmpty {
                // After the pipeline, so that it stops before it; the producer it dead-letters
                // with stops after both.
                services.append(
                    .init(
                        service: try NoticeService(
                            notify: configuration.notify, kafka: configuration.kafka, producer: producer, signer: signer, http: httpClient, logger: logger)))
            }
            if let schedule = configuration.schedule {
                services.append(.init(service: Self.sweepScheduler(schedule, configuration: configuration, client: client, pipeline: pipeline, backend: backend, logger: logger)))
            }
            var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals, logger: logger)
            groupConfiguration.maximumGracefulShutdownDuration = configuration.longestStop
            self.group = ServiceGroup(configuration: groupConfiguration)
        } catch {
            try? httpClient.syncShutdown()
            throw error
        }
        self.httpClient = httpClient
    }

    /// The sweep on `schedule.cron`, run by the replica that owns the events topic's partition 0,
    /// whose events go onto the events topic as the API's do.
    private static func sweepScheduler(
        _ schedule: CronSchedule, configuration: OffboarderConfiguration, client: any PSAClient, pipeline: OffboardingPipeline, backend: ServiceBackend,
        logger: Logger
    ) -> SweepScheduler {
        SweepScheduler(
            schedule: schedule, sweeper: Sweeper(psa: client, criteria: configuration.criteria, logger: logger),
            isSweeper: { [events = configuration.kafka.topics.events] in pipeline.assignment.contains(KafkaTopicPartition(topic: events, partition: 0)) },
            submit: { try await backend.submit($0) }, logger: logger)
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

    /// The HTTP client for a configuration's PSA: its bound and its per-call timeout.
    public static func makeHTTPClient(for configuration: OffboarderConfiguration) -> HTTPClient {
        makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates, readTimeout: configuration.psa.http.requestTimeout)
    }

    /// An HTTP client whose connection pool does not cap the deactivation bound: async-http-client
    /// keeps 8 connections per host by default, which would quietly serialise a higher bound. It
    /// follows no redirect: a redirect would carry the PSA's credentials (and a webhook key fetch)
    /// to wherever the answer points, and the adapters report it as an error instead.
    /// `readTimeout` is the longest pause in an answer once its head is in (the PSA's per-call
    /// timeout): async-http-client's per-request deadline ends at the head.
    public static func makeHTTPClient(
        maxConcurrentUpdates: Int, readTimeout: Duration = PSAHTTPTransport.Configuration.defaultRequestTimeout
    ) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout.read = .milliseconds(Int64((readTimeout.seconds * 1000).rounded(.up)))
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, maxConcurrentUpdates + 2))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Makes the PSA adapter the configuration names.
    public static func makePSAClient(_ psa: OffboarderConfiguration.PSA, httpClient: HTTPClient, logger: Logger) -> any PSAClient {
        psa.makeClient(httpClient: httpClient, logger: logger)
    }

    public typealias ProgressObserver = @Sendable (RunProgress, PSAPacing?) -> Void

    static func makeOffboarder(
        _ configuration: OffboarderConfiguration, client: any PSAClient, logger: Logger, progress: ProgressObserver? = nil
    ) -> Offboarder {
        Offboarder(
            psa: client, configuration: configuration.offboarderConfiguration, logger: logger,
            progress: { [client] event in progress?(event, client.pacing) })
    }

    public static func pipelineConfiguration(_ configuration: OffboarderConfiguration) throws(ConfigurationError) -> OffboardingPipeline.Configuration {
        try configuration.pipelineConfiguration()
    }
}
