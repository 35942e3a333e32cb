import Logging
import OffboardingCore
import OffboardingKafka
import Tracing

/// The trace a record's work belongs to, as the `traceparent` to pass on: the record span's own
/// when a tracer is installed (`tracing.otlp_endpoint`), otherwise the one the record came with, so
/// that the trace id travels on to the result, retry and dead-letter records either way.
enum OutgoingTraceKey: ServiceContextKey {
    typealias Value = TraceParent
    static var nameOverride: String? { "offboarding.traceparent" }
}

/// The topic of the record whose work is running, for the metrics that count it by topic.
enum RecordTopicKey: ServiceContextKey {
    typealias Value = String
    static var nameOverride: String? { "offboarding.record.topic" }
}

extension ServiceContext {
    var outgoingTrace: TraceParent? {
        get { self[OutgoingTraceKey.self] }
        set { self[OutgoingTraceKey.self] = newValue }
    }

    var recordTopic: String? {
        get { self[RecordTopicKey.self] }
        set { self[RecordTopicKey.self] = newValue }
    }
}

/// A W3C carrier over a dictionary: the `traceparent` (and `tracestate`) the instrument reads and writes.
struct TraceCarrier: Extractor, Injector {
    typealias Carrier = [String: String]

    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }

    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

enum RecordTracing {
    /// Runs `operation` in a span for the record (kind consumer), continuing the trace it came with.
    static func withSpan<T: Sendable>(
        for record: KafkaRecord, _ operation: () async -> T
    ) async -> T {
        let incoming = CloudEventDecoder.traceParent(value: record.value, headers: record.headerStrings)
        var context = ServiceContext.topLevel
        if let incoming {
            InstrumentationSystem.instrument.extract(["traceparent": incoming.description], into: &context, using: TraceCarrier())
        }
        return await Tracing.withSpan("offboarding.record \(record.topic)", context: context, ofKind: .consumer) { span in
            span.attributes["messaging.system"] = "kafka"
            span.attributes["messaging.destination.name"] = record.topic
            span.attributes["messaging.destination.partition.id"] = String(record.partition)
            span.attributes["messaging.kafka.offset"] = Int(record.offset)
            var inner = span.context
            inner.outgoingTrace = current(in: inner) ?? incoming
            inner.recordTopic = record.topic
            return await ServiceContext.withValue(inner) { await operation() }
        }
    }

    /// The `traceparent` of the span current in `context`, when a tracer is installed.
    static func current(in context: ServiceContext) -> TraceParent? {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: TraceCarrier())
        return carrier["traceparent"].flatMap(TraceParent.init)
    }

    /// The `traceparent` header of a record published for the current work; none outside one.
    static var outgoingHeaders: [KafkaHeader] {
        guard let trace = ServiceContext.current?.outgoingTrace else { return [] }
        return [KafkaHeader(key: "traceparent", string: trace.description)]
    }

    /// Puts the current trace id on every log line written while a record's work runs.
    static let loggingMetadataProvider = Logger.MetadataProvider {
        guard let trace = ServiceContext.current?.outgoingTrace else { return [:] }
        return ["trace_id": "\(trace.traceID)"]
    }
}
