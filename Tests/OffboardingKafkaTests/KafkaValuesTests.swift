@testable import OffboardingKafka
import Foundation
import Testing

/// The plain values of the Kafka target: statistics read from librdkafka's JSON, errors, records.
@Suite struct KafkaValuesTests {
    /// A sample in the shape of librdkafka's STATISTICS.md, trimmed to the fields read.
    static let statistics = """
        {
          "name": "rdkafka#consumer-1", "type": "consumer",
          "brokers": {
            "127.0.0.1:9092/1": {"name": "127.0.0.1:9092/1", "txretries": 3, "disconnects": 1},
            "127.0.0.1:9093/2": {"name": "127.0.0.1:9093/2", "txretries": 2, "disconnects": 0},
            "GroupCoordinator": {"name": "GroupCoordinator"}
          },
          "topics": {
            "events": {"partitions": {
              "0": {"partition": 0, "hi_offset": 10, "lo_offset": 0, "stored_offset": 4, "committed_offset": 2},
              "1": {"partition": 1, "hi_offset": 10, "lo_offset": 0, "stored_offset": -1001, "committed_offset": 7},
              "2": {"partition": 2, "hi_offset": 10, "lo_offset": 3, "stored_offset": -1001, "committed_offset": -1001},
              "3": {"partition": 3, "hi_offset": -1001, "lo_offset": -1001, "stored_offset": -1001, "committed_offset": -1001},
              "4": {"partition": 4, "hi_offset": 5, "lo_offset": 0, "stored_offset": 9, "committed_offset": 9},
              "5": {"partition": 5, "hi_offset": 10, "lo_offset": 0, "stored_offset": 0, "committed_offset": 0},
              "-1": {"partition": -1, "hi_offset": -1, "lo_offset": -1, "stored_offset": -1, "committed_offset": -1}
            }},
            "other": {"partitions": {
              "0": {"partition": 0, "hi_offset": 10, "lo_offset": 0, "stored_offset": -1001, "committed_offset": -1001}
            }}
          }
        }
        """

    static func parse(_ json: String, partitions: Set<KafkaTopicPartition>) -> KafkaConsumerStatistics? {
        Array(json.utf8).withUnsafeBytes { KafkaConsumerStatistics.parse($0, partitions: partitions) }
    }

    /// The lag counts from the stored offset, else the committed one, else the partition's
    /// first; it is never negative, and only assigned partitions with a known end are reported.
    @Test func consumerLagIsReadFromTheStoredCommittedOrFirstOffset() throws {
        let assigned = Set((0...5).map { KafkaTopicPartition(topic: "events", partition: $0) })
        let statistics = try #require(Self.parse(Self.statistics, partitions: assigned))
        #expect(
            statistics.lag == [
                .init(topic: "events", partition: 0): 6,
                .init(topic: "events", partition: 1): 3,
                .init(topic: "events", partition: 2): 7,
                .init(topic: "events", partition: 4): 0,
                .init(topic: "events", partition: 5): 10,
            ])
        #expect(statistics.brokers == KafkaBrokerCounters(requestRetries: 5, disconnects: 1))
    }

    @Test func onlyAssignedPartitionsAreReportedAndNonsenseIsNoReport() throws {
        let one = try #require(Self.parse(Self.statistics, partitions: [.init(topic: "other", partition: 0)]))
        #expect(one.lag == [.init(topic: "other", partition: 0): 10])
        #expect(try #require(Self.parse(#"{"brokers": {}}"#, partitions: [])).lag.isEmpty)
        #expect(Self.parse("not json", partitions: []) == nil)
        #expect(Self.parse(#"{"topics": {"t": {"partitions": {"0": {"partition": "zero"}}}}}"#, partitions: []) == nil)
    }

    @Test func producerBrokerCountersAreSummedOverBrokers() throws {
        let counters = Array(Self.statistics.utf8).withUnsafeBytes { KafkaBrokerCounters.parse($0) }
        #expect(counters == KafkaBrokerCounters(requestRetries: 5, disconnects: 1))
        #expect(Array("{}".utf8).withUnsafeBytes { KafkaBrokerCounters.parse($0) } == KafkaBrokerCounters())
        #expect(Array("[".utf8).withUnsafeBytes { KafkaBrokerCounters.parse($0) } == nil)
    }

    /// Too large, invalid or corrupt records are refused for good; anything else may pass when
    /// repeated (Kafka's error codes: 10, 87, 2 and 18 against 6, 7 and librdkafka's -192).
    @Test(arguments: [(Int32(10), true), (87, true), (2, true), (18, true), (6, false), (7, false), (-192, false)])
    func refusedForGoodOnlyForTheRecordsOwnFaults(code: Int32, forGood: Bool) {
        #expect(KafkaError(code: .delivery, message: "t", rdKafkaCode: code).refusesRecordForGood == forGood)
    }

    @Test func anErrorSaysItsCodeMessageAndLibrdkafkasCode() {
        #expect(KafkaError(code: .delivery, message: "t: Broker: Message size too large", rdKafkaCode: 10).description
            == "kafka delivery: t: Broker: Message size too large (rd_kafka_resp_err_t 10)")
        #expect(KafkaError(code: .closed, message: "producer is shut down").description == "kafka closed: producer is shut down")
        #expect(!KafkaError(code: .closed, message: "").refusesRecordForGood)
        #expect(KafkaError.Code.offsetStore.description == "offsetStore")
    }

    /// The event decoder's view of headers: lower-cased names, the last value of a repeated one.
    @Test func headerStringsAreLowerCasedAndTheLastWins() {
        let record = KafkaRecord(
            topic: "t", partition: 3, offset: 9, key: Array("42".utf8), value: nil,
            headers: [.init(key: "CE_Type", string: "a"), .init(key: "ce_type", string: "b"), .init(key: "empty", value: nil)])
        #expect(record.headerStrings == ["ce_type": "b"], "a header without a value has no string")
        #expect(record.keyString == "42")
        #expect(record.topicPartition == KafkaTopicPartition(topic: "t", partition: 3))
        #expect(record.topicPartition.description == "t[3]")
        #expect(KafkaOutgoingRecord(topic: "t", key: "k", value: nil).key == Array("k".utf8))
        #expect(KafkaOutgoingRecord(topic: "t", key: nil as String?, value: nil).partition == nil)
    }

    /// librdkafka's refusal of a property: a configuration error naming it, before any client is made.
    @Test func anUnknownPropertyIsRefusedWithAConfigurationError() {
        #expect {
            _ = try RDKafkaConf.make(["bootstrap.servers": "127.0.0.1:1", "made.up.property": "1"])
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == .configuration && error.message.hasPrefix("property made.up.property: ") && error.rdKafkaCode == nil
        }
    }
}

/// The librdkafka settings the README says the service fixes: two always (an operator's
/// `kafka.properties` cannot turn them off), the rest as defaults an operator may override.
@Suite struct FixedKafkaSettingsTests {
    @Test func theConsumerStoresOffsetsItselfWhateverThePropertiesSay() {
        let overriding = ["enable.auto.offset.store": "true", "partition.assignment.strategy": "range", "auto.offset.reset": "latest", "enable.auto.commit": "false"]
        let plain = KafkaConsumer.Configuration(bootstrapServers: "b", groupID: "g", topics: ["t"]).librdkafkaProperties
        #expect(plain["enable.auto.offset.store"] == "false")
        #expect(plain["partition.assignment.strategy"] == "cooperative-sticky")
        #expect(plain["enable.auto.commit"] == "true" && plain["auto.commit.interval.ms"] == "1000")
        #expect(plain["auto.offset.reset"] == "earliest")
        let overridden = KafkaConsumer.Configuration(bootstrapServers: "b", groupID: "g", topics: ["t"], properties: overriding).librdkafkaProperties
        #expect(overridden["enable.auto.offset.store"] == "false", "always")
        #expect(overridden["partition.assignment.strategy"] == "range" && overridden["auto.offset.reset"] == "latest" && overridden["enable.auto.commit"] == "false")
    }

    @Test func theProducerIsIdempotentWhateverThePropertiesSay() {
        #expect(KafkaProducer.Configuration(bootstrapServers: "b").librdkafkaProperties["enable.idempotence"] == "true")
        let overridden = KafkaProducer.Configuration(bootstrapServers: "b", properties: ["enable.idempotence": "false", "linger.ms": "50"]).librdkafkaProperties
        #expect(overridden["enable.idempotence"] == "true", "always")
        #expect(overridden["linger.ms"] == "50")
    }
}
