import Crdkafka
import Foundation

extension KafkaRecord {
    /// Copies a consumed message out of librdkafka's memory; the caller still destroys the message.
    /// - Parameter topics: topic names already read in this batch, by handle (a name longer than a
    ///   small string would otherwise be allocated for every record).
    init(copying message: UnsafePointer<rd_kafka_message_t>, topics: inout [OpaquePointer: String]) {
        let m = message.pointee
        let topic: String
        if let rkt = m.rkt {
            if let known = topics[rkt] {
                topic = known
            } else {
                topic = String(cString: rd_kafka_topic_name(rkt))
                topics[rkt] = topic
            }
        } else {
            topic = ""
        }
        let key: [UInt8]? = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        let value: [UInt8]? = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) }
        var headers: [KafkaHeader] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(message, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePointer: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: headerValue))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        self.init(
            topic: topic, partition: m.partition, offset: m.offset, key: key, value: value, headers: headers,
            timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        )
    }
}

extension KafkaConsumer {
    /// A consumed message as librdkafka holds it, for a decision that needs no copy.
    public struct RecordView {
        public let topic: String
        public let partition: Int32
        public let offset: Int64
        public let value: UnsafeRawBufferPointer?
        let message: UnsafePointer<rd_kafka_message_t>

        /// Nil for a message without a topic.
        /// - Parameter topics: topic names already read in this batch, by handle.
        init?(_ message: UnsafePointer<rd_kafka_message_t>, topics: inout [OpaquePointer: String]) {
            let m = message.pointee
            guard let rkt = m.rkt else { return nil }
            if let known = topics[rkt] {
                topic = known
            } else {
                topic = String(cString: rd_kafka_topic_name(rkt))
                topics[rkt] = topic
            }
            partition = m.partition
            offset = m.offset
            value = m.payload.map { UnsafeRawBufferPointer(start: $0, count: m.len) }
            self.message = message
        }

        /// Calls `body` with each header's name (as C bytes, without the NUL) and value; stops when it returns false.
        public func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) -> Bool) {
            var headers: OpaquePointer?
            guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return }
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let nameBytes = name.map { UnsafeRawBufferPointer(start: $0, count: strlen($0)) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
                guard body(nameBytes, value.map { UnsafeRawBufferPointer(start: $0, count: size) }) else { return }
                index += 1
            }
        }
    }
}
