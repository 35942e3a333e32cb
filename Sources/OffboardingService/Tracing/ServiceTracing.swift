import Logging
import OTel
import ServiceLifecycle
import Synchronization
import Tracing

/// Traces out of the process: with `tracing.otlp_endpoint` set, swift-otel's tracer becomes the
/// process's, exporting spans over OTLP/HTTP (protobuf, or what `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`
/// asks; the other `OTEL_*` variables apply too). Without it the tracer stays the no-op one.
public enum ServiceTracing {
    private static let installed = Mutex<String?>(nil)

    /// Installs the OTLP tracer, once per process (swift-distributed-tracing takes one bootstrap),
    /// and returns the service that batches and exports its spans; nil when already installed.
    static func bootstrap(endpoint: String, logger: Logger) throws -> (any Service)? {
        try installed.withLock { current -> (any Service)? in
            if let current {
                if current != endpoint { logger.warning("spans already go to another OTLP endpoint in this process", metadata: ["otel.endpoint": "\(current)"]) }
                return nil
            }
            var configuration = OTel.Configuration.default
            configuration.serviceName = "psa-offboarder"
            configuration.logs.enabled = false
            configuration.metrics.enabled = false
            configuration.traces.enabled = true
            // Like OTEL_EXPORTER_OTLP_ENDPOINT, the collector's base URL: traces go to its /v1/traces.
            configuration.traces.otlpExporter.endpoint = endpoint.hasSuffix("/") ? "\(endpoint)v1/traces" : "\(endpoint)/v1/traces"
            configuration.diagnosticLogger = .custom(logger)
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            InstrumentationSystem.bootstrap(backend.factory)
            current = endpoint
            logger.info("spans exported over OTLP", metadata: ["otel.endpoint": "\(endpoint)"])
            return backend.service
        }
    }

    /// For `LoggingSystem.bootstrap`: puts the trace id of the record being worked on on every
    /// log line written for it.
    public static var loggingMetadataProvider: Logger.MetadataProvider { RecordTracing.loggingMetadataProvider }
}
