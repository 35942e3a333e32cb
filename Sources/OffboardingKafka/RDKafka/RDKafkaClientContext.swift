import Crdkafka
import Logging
import Synchronization

/// State shared with librdkafka's C callbacks through the handle's opaque pointer.
/// The owning client keeps it alive for as long as the handle exists.
class RDKafkaClientContext: @unchecked Sendable {
    // Immutable after init, so reading it from librdkafka's threads is safe.
    let logger: Logger
    /// Set once the client is shut down: what librdkafka still says (brokers going away) is noise.
    let quiet = Mutex(false)

    init(logger: Logger) {
        self.logger = logger
    }

    /// Routes librdkafka's own log lines into swift-log instead of stderr.
    static func installLogCallback(on conf: OpaquePointer, context: RDKafkaClientContext) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let context = Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
            let text = message.map { String(cString: $0) } ?? ""
            let facilityText = facility.map { String(cString: $0) } ?? ""
            // syslog levels: 0-3 error, 4 warning, 5-6 info/notice, 7 debug.
            let syslogLevel: Logger.Level =
                switch level {
                case 0...3: .error
                case 4: .warning
                case 5, 6: .info
                default: .debug
                }
            let swiftLevel = context.quiet.withLock { $0 } ? .debug : syslogLevel
            context.logger.log(level: swiftLevel, "\(text)", metadata: ["rdkafka.facility": "\(facilityText)"])
        }
    }
}
