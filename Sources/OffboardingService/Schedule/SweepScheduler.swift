import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import ServiceLifecycle

/// Runs the sweep on `schedule.cron`, on one replica at a time: the member that owns partition 0
/// of the events topic. During a rebalance two members may both sweep a slot; the slot's event ids
/// are the same on both, so each client still runs once.
final class SweepScheduler: Service, Sendable {
    private let schedule: CronSchedule
    private let sweeper: Sweeper
    private let pipeline: OffboardingPipeline
    private let eventsTopic: String
    private let submit: @Sendable (CompanyStatusChangedEvent) async throws -> Void
    private let logger: Logger

    init(
        schedule: CronSchedule, sweeper: Sweeper, pipeline: OffboardingPipeline, eventsTopic: String,
        submit: @escaping @Sendable (CompanyStatusChangedEvent) async throws -> Void, logger: Logger
    ) {
        self.schedule = schedule
        self.sweeper = sweeper
        self.pipeline = pipeline
        self.eventsTopic = eventsTopic
        self.submit = submit
        self.logger = logger
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var after = Date()
            while let next = self.schedule.next(after: after) {
                try await Task.sleep(for: .milliseconds(Int64(max(0, next.timeIntervalSinceNow) * 1000)))
                after = next
                guard self.pipeline.assignment.contains(KafkaTopicPartition(topic: self.eventsTopic, partition: 0)) else {
                    self.logger.debug("sweep slot left to the owner of partition 0", metadata: ["schedule.slot": "\(Sweeper.slot(for: next))"])
                    continue
                }
                await self.sweepOnce(slot: Sweeper.slot(for: next))
            }
        }
    }

    private func sweepOnce(slot: String) async {
        do {
            let report = try await sweeper.sweep(slot: slot, emit: submit)
            logger.info(
                "scheduled sweep done",
                metadata: [
                    "schedule.slot": "\(slot)", "sweep.companies": "\(report.companiesChecked)", "sweep.events": "\(report.eventIDs.count)",
                    "sweep.failures": "\(report.failures.count)",
                ])
        } catch {
            logger.error("scheduled sweep failed; the next slot tries again", metadata: ["schedule.slot": "\(slot)", "psa.error": "\(error)"])
        }
    }
}
