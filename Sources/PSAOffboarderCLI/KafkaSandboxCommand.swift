import ArgumentParser
import Foundation
import Logging
import OffboardingKafka
import OffboardingKafkaTesting
import UnixSignals

struct KafkaSandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-sandbox",
        abstract: "Serve a local Kafka-protocol test cluster (librdkafka's mock cluster) until SIGTERM or SIGINT.",
        discussion: """
            The first line on stdout is the bootstrap servers. Topics not created here are auto-created \
            with 4 partitions on first use.

            Example:
              psa-offboarder kafka-sandbox --brokers 1 --topic psa.company.status-changed:8 --topic psa.offboarding.results
            """)

    @Option(name: .long, help: "How many brokers.")
    var brokers: Int = 1
    @Option(name: .long, help: "A topic to create, NAME or NAME:PARTITIONS (repeatable).")
    var topic: [String] = []

    func validate() throws {
        guard (1...9).contains(brokers) else { throw ValidationError("--brokers must be from 1 to 9") }
        for spec in topic { _ = try Self.parse(spec) }
    }

    static func parse(_ spec: String) throws -> (String, Int32) {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.first, !name.isEmpty else {
            throw ValidationError("--topic \(spec): expected NAME or NAME:PARTITIONS")
        }
        guard parts.count == 2 else { return (String(name), 4) }
        guard let partitions = Int32(parts[1]), (1...1000).contains(partitions) else {
            throw ValidationError("--topic \(spec): PARTITIONS must be a number from 1 to 1000")
        }
        return (String(name), partitions)
    }

    func run() async throws {
        let logger = CLILogging.bootstrap(defaultLevel: .warning)
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let cluster = try KafkaTestCluster(brokers: brokers, logger: logger)
        for spec in topic {
            let (name, partitions) = try Self.parse(spec)
            try cluster.createTopic(name, partitions: partitions)
        }
        print(cluster.bootstrapServers)
        fflush(nil)
        for await _ in signals { break }
        withExtendedLifetime(cluster) {}
    }
}
