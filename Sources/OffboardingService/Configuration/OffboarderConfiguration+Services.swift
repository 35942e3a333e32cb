import OffboardingCore
import OffboardingHTTPAPI
import OffboardingKafka

/// What each part of the service is configured with, as the file gives it: the one place the
/// file's settings are handed to the types that own their defaults.
extension OffboarderConfiguration {
    public func pipelineConfiguration() throws(ConfigurationError) -> OffboardingPipeline.Configuration {
        var pipeline = OffboardingPipeline.Configuration(
            consumer: KafkaConsumer.Configuration(
                bootstrapServers: kafka.bootstrapServers, groupID: kafka.groupID, topics: [kafka.topics.events, kafka.topics.retry],
                properties: kafka.properties),
            topics: kafka.topics, psa: psa.kind, defaults: defaults, signer: try requireSigner(), outageBackoff: outageBackoff,
            maxOutageBackoff: maxOutageBackoff)
        pipeline.criteria = criteria
        pipeline.retryTopicMaxAttempts = retryTopicMaxAttempts
        pipeline.retryTopicInitialDelay = retryTopicInitialDelay
        pipeline.retryTopicMaxDelay = retryTopicMaxDelay
        pipeline.approvalExpiryInterval = approvalExpiryInterval
        pipeline.decidedApprovalRetention = decidedApprovalRetention
        pipeline.pollStallTimeout = pollStallTimeout
        pipeline.revocationGrace = revocationGrace
        pipeline.outageMaxWait = outageMaxWait
        pipeline.shutdownGrace = shutdownGrace
        return pipeline
    }

    /// Every producer of the service signs what it writes.
    func producerConfiguration() throws(ConfigurationError) -> KafkaProducer.Configuration {
        let signer = try requireSigner()
        var producer = KafkaProducer.Configuration(bootstrapServers: kafka.bootstrapServers, properties: kafka.properties)
        producer.seal = { signer.sign(&$0) }
        return producer
    }

    var offboarderConfiguration: Offboarder.Configuration {
        Offboarder.Configuration(
            maxConcurrentUpdates: maxConcurrentUpdates, scope: scope, writeReasonToNotes: writeReasonToNotes, approvalLifetime: approvalLifetime,
            policy: policy)
    }

    /// The HTTP server's settings; nil without `http.listen`. Console sessions are keyed with the
    /// signing key, so that they end when it rotates out.
    func httpServerConfiguration(signer: RecordSigner) -> OffboardingHTTPServer.Configuration? {
        guard let http else { return nil }
        var server = OffboardingHTTPServer.Configuration(host: http.host, port: http.port, apiTokens: http.apiTokens)
        server.webhook = psa.webhook(from: webhooks)
        server.timeouts = http.timeouts
        server.maxConnections = http.maxConnections
        server.secureCookies = http.secureCookies
        server.sessionSecret = signer.primaryKey
        return server
    }
}
