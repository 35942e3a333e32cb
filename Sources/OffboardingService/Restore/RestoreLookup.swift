import Logging
import OffboardingCore
import OffboardingKafka

/// What a restore undoes, found one way for the `restore` command, the HTTP route and a restore
/// event: every result of the offboarding it names, read from the results topic when asked (so
/// that follow-ups published since are part of it), made into a plan.
struct RestoreLookup: Sendable {
    struct Configuration: Sendable {
        var bootstrapServers: String
        var resultsTopic: String
        /// librdkafka properties of the reads, without a group.
        var properties: [String: String]
        var signer: RecordSigner
    }

    let configuration: Configuration
    /// For the results topic's partition count.
    let producer: KafkaProducer
    /// The running service's ledger, which may answer without a read; nil for the `restore` command.
    let views: PipelineViews?
    let reads: RestoreReads
    let logger: Logger

    /// Every result published for the event, from the results topic's beginning. An event the
    /// ledger knows it has never seen (it holds every event of the topic) is answered without a
    /// read. A read waits for a slot among the few that may run at once, or, for a request from the
    /// HTTP API (`waiting` false), is refused with `RestoreReadsBusy` while every slot is taken.
    func results(of eventID: String, waiting: Bool = true) async throws -> [OffboardingResult] {
        let partitions = try await producer.partitionCount(of: configuration.resultsTopic, timeout: .seconds(10))
        // A partition added since the ledger started is one it does not read.
        if let ledger = views?.ledger.withLock({ $0 }), ledger.knowsEveryEvent, ledger.partitionCount == partitions,
            try await !ledger.knows(eventID: eventID, timeout: .seconds(10))
        {
            return []
        }
        if !waiting, reads.isFull { throw RestoreReadsBusy() }
        return try await reads.read {
            try await ResultHistory.results(
                of: eventID, bootstrapServers: configuration.bootstrapServers, topic: configuration.resultsTopic, partitionCount: partitions,
                properties: configuration.properties, signer: configuration.signer, logger: logger)
        }
    }

    /// The plan that undoes the offboarding.
    /// - Throws: `RestoreRefusal` when it has nothing to undo; the read's error when the results
    ///   topic could not be read; `RestoreReadsBusy` as `results(of:waiting:)` says.
    func plan(of eventID: String, waiting: Bool = true) async throws -> RestorePlan {
        try RestorePlan.make(eventID: eventID, from: try await results(of: eventID, waiting: waiting))
    }
}

/// Every slot for reading the results topic is taken; the request may be made again shortly.
struct RestoreReadsBusy: Error, CustomStringConvertible {
    var description: String { "every read of the results topic for a restore is taken; try again shortly" }
}
