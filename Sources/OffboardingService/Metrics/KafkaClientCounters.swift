import Metrics
import OffboardingKafka
import Synchronization

/// `psa_offboarder_kafka_request_retries_total{client}` and
/// `psa_offboarder_kafka_disconnects_total{client}` from the broker counters librdkafka reports
/// for each of the service's Kafka clients. The reports are cumulative per client; each adds what
/// grew since that client's last one.
public final class KafkaClientCounters: Sendable {
    private struct Client {
        var last = KafkaBrokerCounters()
        let retries: Counter
        let disconnects: Counter
    }

    private let clients = Mutex<[String: Client]>([:])

    public init() {}

    /// One client's (`consumer`, `approvals-consumer`, `producer`) since it was made.
    public func counters(of client: String) -> KafkaBrokerCounters { clients.withLock { $0[client]?.last ?? .init() } }

    func record(_ counters: KafkaBrokerCounters, client name: String) {
        clients.withLock { clients in
            var client = clients[name] ?? Client(
                retries: Counter(label: "psa_offboarder_kafka_request_retries_total", dimensions: [("client", name)]),
                disconnects: Counter(label: "psa_offboarder_kafka_disconnects_total", dimensions: [("client", name)]))
            let retries = max(0, counters.requestRetries - client.last.requestRetries)
            let disconnects = max(0, counters.disconnects - client.last.disconnects)
            client.retries.increment(by: retries)
            client.disconnects.increment(by: disconnects)
            client.last = counters
            clients[name] = client
        }
    }
}
