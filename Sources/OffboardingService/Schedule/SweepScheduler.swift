import Foundation
import Logging
import Metrics
import OffboardingCore
import ServiceLifecycle

/// The wall clock a schedule reads and waits on; tests drive one of their own instead of waiting
/// for minutes to pass.
protocol SweepClock: Sendable {
    var now: Date { get }
    /// Returns at `date`, or throws when cancelled.
    func sleep(until date: Date) async throws
}

struct SystemSweepClock: SweepClock {
    var now: Date { Date() }

    func sleep(until date: Date) async throws {
        try await Task.sleep(for: .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000)))
    }
}

/// Runs the sweep on `schedule.cron`, on one replica at a time: the member for which `isSweeper`
/// holds at the slot (the owner of partition 0 of the events topic). During a rebalance two members
/// may both sweep a slot; the slot's event ids are the same on both, so each client still runs once.
final class SweepScheduler: Service, Sendable {
    private let schedule: CronSchedule
    private let sweeper: Sweeper
    private let isSweeper: @Sendable () -> Bool
    private let submit: @Sendable (CompanyStatusChangedEvent) async throws -> Void
    private let clock: any SweepClock
    private let logger: Logger

    init(
        schedule: CronSchedule, sweeper: Sweeper, isSweeper: @escaping @Sendable () -> Bool,
        submit: @escaping @Sendable (CompanyStatusChangedEvent) async throws -> Void, clock: any SweepClock = SystemSweepClock(), logger: Logger
    ) {
        self.schedule = schedule
        self.sweeper = sweeper
        self.isSweeper = isSweeper
        self.submit = submit
        self.clock = clock
        self.logger = logger
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var after = self.clock.now
            while let next = self.schedule.next(after: after) {
                try await self.clock.sleep(until: next)
                // Woken late (a paused process, a sweep longer than the interval): the latest slot
                // due stands for the missed ones, which would find the same clients.
                var due = next
                while let later = self.schedule.next(after: due), later <= self.clock.now { due = later }
                if due != next { self.logger.warning("sweep slots missed; sweeping the latest", metadata: ["schedule.slot": "\(Sweeper.slot(for: due))"]) }
                after = due
                guard self.isSweeper() else {
                    self.logger.debug("sweep slot left to the owner of partition 0", metadata: ["schedule.slot": "\(Sweeper.slot(for: due))"])
                    continue
                }
                await self.sweepOnce(at: due)
            }
        }
    }

    private func sweepOnce(at date: Date) async {
        let slot = Sweeper.slot(for: date)
        do {
            let report = try await sweeper.sweep(slot: slot, now: clock.now, emit: submit)
            Counter(label: "psa_offboarder_sweep_requests_total").increment(by: report.requests)
            Timer(label: "psa_offboarder_sweep_duration_seconds", preferredDisplayUnit: .seconds).recordNanoseconds(
                report.duration.components.seconds * 1_000_000_000 + report.duration.components.attoseconds / 1_000_000_000)
            logger.info(
                "scheduled sweep done",
                metadata: [
                    "schedule.slot": "\(slot)", "sweep.companies": "\(report.companiesChecked)", "sweep.events": "\(report.eventIDs.count)",
                    "sweep.failures": "\(report.failures.count)", "sweep.requests": "\(report.requests)", "sweep.seconds": "\(report.duration.seconds)",
                ])
        } catch {
            logger.error("scheduled sweep failed; the next slot tries again", metadata: ["schedule.slot": "\(slot)", "psa.error": "\(error)"])
        }
    }
}
