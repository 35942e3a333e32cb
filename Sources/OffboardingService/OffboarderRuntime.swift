import AsyncHTTPClient
import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import PSAAutotask
import PSAConnectWise
import PSAHalo
import ServiceLifecycle
import UnixSignals

/// The composition root: builds the PSA client, the producer and the consumer pipeline from a
/// configuration and runs them with graceful shutdown.
public final class OffboarderRuntime: Sendable {
    public let pipeline: OffboardingPipeline
    private let producer: KafkaProducer
    private let httpClient: HTTPClient
    private let group: ServiceGroup

    /// - Parameter signals: the signals that start a graceful shutdown (none in tests and `demo`).
    public init(configuration: OffboarderConfiguration, logger: Logger, signals: [UnixSignal] = [.sigterm, .sigint]) throws {
        let httpClient = Self.makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates)
        do {
            let producer = try KafkaProducer(configuration: Self.producerConfiguration(configuration), logger: logger)
            let offboarder = Self.makeOffboarder(configuration, httpClient: httpClient, logger: logger)
            let pipeline = try OffboardingPipeline(
                configuration: Self.pipelineConfiguration(configuration), producer: producer, offboarder: offboarder, logger: logger)
            self.producer = producer
            self.pipeline = pipeline
            // Started in this order, stopped in reverse: the pipeline drains before the producer flushes.
            self.group = ServiceGroup(
                configuration: .init(
                    services: [
                        .init(service: producer),
                        .init(
                            service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup,
                            failureTerminationBehavior: .gracefullyShutdownGroup),
                    ],
                    gracefulShutdownSignals: signals,
                    logger: logger))
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

    static func makeOffboarder(_ configuration: OffboarderConfiguration, httpClient: HTTPClient, logger: Logger) -> Offboarder {
        Offboarder(
            psa: makePSAClient(configuration.psa, httpClient: httpClient, logger: logger),
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
                topics: [configuration.kafka.topics.events, configuration.kafka.topics.retry, configuration.kafka.topics.approvals],
                properties: configuration.kafka.properties),
            topics: configuration.kafka.topics, psa: configuration.psa.kind, defaults: configuration.defaults,
            outageBackoff: configuration.outageBackoff, maxOutageBackoff: configuration.maxOutageBackoff)
        pipeline.retryTopicMaxAttempts = configuration.retryTopicMaxAttempts
        pipeline.retryTopicInitialDelay = configuration.retryTopicInitialDelay
        pipeline.retryTopicMaxDelay = configuration.retryTopicMaxDelay
        return pipeline
    }

    /// One client now (`run`): offboards it, publishes the result to the results topic and returns it.
    public static func runOnce(
        request: OffboardingRequest, configuration: OffboarderConfiguration, logger: Logger
    ) async throws -> OffboardingResult {
        let httpClient = makeHTTPClient(maxConcurrentUpdates: configuration.maxConcurrentUpdates)
        let result = await makeOffboarder(configuration, httpClient: httpClient, logger: logger).run(request)
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
