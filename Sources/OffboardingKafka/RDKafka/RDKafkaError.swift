import Crdkafka

/// librdkafka's error codes and error objects as `KafkaError`s.
enum RDKafkaError {
    static func describe(_ err: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(err))
    }

    static func fatalError(of handle: OpaquePointer) -> KafkaError? {
        var errstr = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &errstr, errstr.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(code: .fatal, message: String(errorBuffer: errstr), rdKafkaCode: err.rawValue)
    }

    /// Converts (and destroys) an `rd_kafka_error_t`.
    static func consume(_ error: OpaquePointer?) -> KafkaError? {
        guard let error else { return nil }
        defer { rd_kafka_error_destroy(error) }
        return KafkaError(
            code: rd_kafka_error_is_fatal(error) != 0 ? .fatal : .consume,
            message: String(cString: rd_kafka_error_string(error)),
            rdKafkaCode: rd_kafka_error_code(error).rawValue
        )
    }

    /// librdkafka's codes for a record that no repetition will get accepted.
    private static let permanentRecordErrors: Set<Int32> = [
        // Also raised by librdkafka itself above message.max.bytes.
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue,
        RD_KAFKA_RESP_ERR_INVALID_RECORD.rawValue,
        // CORRUPT_MESSAGE in the protocol's own words.
        RD_KAFKA_RESP_ERR_INVALID_MSG.rawValue,
        RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE.rawValue,
    ]

    static func refusesRecordForGood(_ code: Int32) -> Bool {
        permanentRecordErrors.contains(code)
    }
}
