import AsyncHTTPClient
import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import PSAConnectWise
import ServiceLifecycle
import UnixSignals

/// The composition root: builds the PSA client, the producer and the consumer pipeline from a
/// configuration and runs them with graceful shutdown.
public enum OffboarderApplication {
    /// Makes the PSA adapter the configuration names.
    public static func makePSAClient(_ psa: OffboarderConfiguration.PSA, httpClient: HTTPClient, logger: Logger) -> any PSAClient {
        switch psa {
        case .connectwise(let configuration):
            ConnectWiseClient(configuration: configuration, httpClient: httpClient, logger: logger)
        }
    }

    static func producerConfiguration(_ configuration: OffboarderConfiguration) -> KafkaProducer.Configuration {
        KafkaProducer.Configuration(
            bootstrapServers: configuration.kafka.bootstrapServers, properties: configuration.kafka.properties)
    }

    public static func pipelineConfiguration(_ configuration: OffboarderConfiguration) -> OffboardingPipeline.Configuration {
        OffboardingPipeline.Configuration(
            consumer: KafkaConsumer.Configuration(
                bootstrapServers: configuration.kafka.bootstrapServers, groupID: configuration.kafka.groupID,
                topics: [configuration.kafka.topics.events], properties: configuration.kafka.properties),
            topics: configuration.kafka.topics, psa: configuration.psa.kind, defaults: configuration.defaults)
    }

    /// Runs `consume` until SIGTERM or SIGINT, then drains in-flight work, leaves the group and
    /// flushes. Returns normally after a graceful shutdown.
    public static func consume(
        configuration: OffboarderConfiguration, logger: Logger,
        signals: [UnixSignal] = [.sigterm, .sigint],
        onStarted: @Sendable (OffboardingPipeline) async -> Void = { _ in }
    ) async throws {
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let producer = try KafkaProducer(configuration: producerConfiguration(configuration), logger: logger)
            let psa = makePSAClient(configuration.psa, httpClient: httpClient, logger: logger)
            let offboarder = Offboarder(psa: psa, configuration: .init(maxConcurrentUpdates: configuration.maxConcurrentUpdates), logger: logger)
            let pipeline = try OffboardingPipeline(
                configuration: pipelineConfiguration(configuration), producer: producer, offboarder: offboarder, logger: logger)
            // Started in this order, stopped in reverse: the pipeline drains before the producer flushes.
            let group = ServiceGroup(
                configuration: .init(
                    services: [
                        .init(service: producer),
                        .init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    ],
                    gracefulShutdownSignals: signals,
                    logger: logger))
            await onStarted(pipeline)
            try await group.run()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    /// One client now (`run`): offboards it, publishes the result (trigger `manual`) and returns it.
    public static func runOnce(
        request: OffboardingRequest, configuration: OffboarderConfiguration, logger: Logger
    ) async throws -> OffboardingResult {
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let result: OffboardingResult
        do {
            let psa = makePSAClient(configuration.psa, httpClient: httpClient, logger: logger)
            let offboarder = Offboarder(psa: psa, configuration: .init(maxConcurrentUpdates: configuration.maxConcurrentUpdates), logger: logger)
            result = await offboarder.run(request)
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
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
        return result
    }
}
