extension Duration {
    /// Whole milliseconds, as librdkafka's timeouts and intervals take them.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
