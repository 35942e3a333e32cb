extension KafkaConsumer {
    /// Raises a fatal error on this client through librdkafka's own testing hook
    /// (`rd_kafka_test_fatal_error`): a consumer outside a fenced static group has no practical way
    /// to meet one, yet what the service does after one (a reader stops, liveness fails) is a promise.
    /// The next poll fails with it.
    package func raiseFatalErrorForTesting(reason: String) {
        client.raiseFatalErrorForTesting(reason: reason)
    }
}

extension TopicReader {
    /// Makes the reader's next poll fail as a fatal error would (see `KafkaConsumer.raiseFatalErrorForTesting`).
    package func raiseFatalErrorForTesting(reason: String) {
        consumer.raiseFatalErrorForTesting(reason: reason)
    }
}
