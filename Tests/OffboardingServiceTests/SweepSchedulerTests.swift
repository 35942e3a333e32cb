import Foundation
import Logging
import OffboardingCore
import OffboardingTestSupport
import PSASimulators
import ServiceLifecycle
import Synchronization
import Testing

@testable import OffboardingService

/// The cron loop on a clock the test moves: each slot sweeps once on the replica that owns
/// partition 0, none on the others, with the slot's own event ids; nothing waits for real minutes.
@Suite(.timeLimit(.minutes(2)))
struct SweepSchedulerTests {
    /// The sweep's clock on time the test moves.
    struct ManualClock: SweepClock {
        let time: ManualTime<Date>
        init(_ now: Date) { time = ManualTime(now) }
        var now: Date { time.now }
        func sleep(until date: Date) async throws { try await time.sleep(until: date) }
        func advance(to date: Date) { time.advance(to: date) }
    }

    final class Submitted: Sendable {
        let events = Mutex<[CompanyStatusChangedEvent]>([])
        func add(_ event: CompanyStatusChangedEvent) { events.withLock { $0.append(event) } }
        var ids: [String] { events.withLock { $0.map(\.id) } }
    }

    static func date(_ text: String) -> Date { Timestamp.date(from: text)! }

    @Test func eachSlotSweepsOnceOnTheOwnerOfPartitionZeroAndNowhereElse() async throws {
        let (tenant, configuration) = SimulatedPSAs.make(.connectwise)
        let server = try await SimulatorServer.start(router: tenant.makeRouter(), logger: .test())
        let httpClient = OffboarderRuntime.makeHTTPClient(maxConcurrentUpdates: 4)
        let client = OffboarderRuntime.makePSAClient(configuration(server.baseURL), httpClient: httpClient, logger: .test())
        _ = await tenant.addClient(id: 710_001, name: "Left behind", offboarded: true, active: 2, inactive: 0)
        let sweeper = Sweeper(psa: client, offboardedStatuses: ["Inactive", "Offboarded"], logger: .test())
        let schedule = try CronSchedule(parsing: "*/5 * * * *")

        let clock = ManualClock(Self.date("2026-12-02T10:02:00Z"))
        let owner = Submitted()
        let other = Submitted()
        let ownsPartitionZero = Mutex(true)
        let schedulers = [
            SweepScheduler(schedule: schedule, sweeper: sweeper, isSweeper: { ownsPartitionZero.withLock { $0 } }, submit: { owner.add($0) }, clock: clock, logger: .test()),
            SweepScheduler(schedule: schedule, sweeper: sweeper, isSweeper: { !ownsPartitionZero.withLock { $0 } }, submit: { other.add($0) }, clock: clock, logger: .test()),
        ]
        let group = ServiceGroup(configuration: .init(services: schedulers.map { .init(service: $0) }, logger: .test()))
        let running = Task { try await group.run() }
        // Stopped however the checks end: an HTTP client dropped unstopped traps the test process.
        var failure: (any Error)?
        do {
            try await runSlots(clock: clock, owner: owner, other: other, ownsPartitionZero: ownsPartitionZero)
        } catch {
            failure = error
        }
        await group.triggerGracefulShutdown()
        do { try await running.value } catch { failure = failure ?? error }
        try? await httpClient.shutdown()
        await server.stop()
        if let failure { throw failure }
    }

    private func runSlots(clock: ManualClock, owner: Submitted, other: Submitted, ownsPartitionZero: borrowing Mutex<Bool>) async throws {
        /// Waits until both schedulers sleep towards `slot`, which means the slot before is done.
        func bothWait(for slot: String) async throws {
            let date = Self.date(slot)
            try await clock.time.waitForSleepers(timeout: .seconds(60), "both schedulers waiting for \(slot)") { deadlines in
                deadlines.filter { $0 == date }.count == 2
            }
        }
        try await bothWait(for: "2026-12-02T10:05:00Z")
        #expect(owner.ids.isEmpty && other.ids.isEmpty, "nothing before the first slot")
        clock.advance(to: Self.date("2026-12-02T10:05:00Z"))
        try await bothWait(for: "2026-12-02T10:10:00Z")
        #expect(owner.ids == ["schedule-20261202T1005Z-710001"] && other.ids.isEmpty)

        // Partition 0 moves to the other replica: the next slot is its to sweep.
        ownsPartitionZero.withLock { $0 = false }
        clock.advance(to: Self.date("2026-12-02T10:10:00Z"))
        try await bothWait(for: "2026-12-02T10:15:00Z")
        #expect(owner.ids == ["schedule-20261202T1005Z-710001"] && other.ids == ["schedule-20261202T1010Z-710001"])

        // A clock that jumps past several slots (a process paused) sweeps once, for the latest slot due.
        clock.advance(to: Self.date("2026-12-02T10:21:00Z"))
        try await bothWait(for: "2026-12-02T10:25:00Z")
        #expect(other.ids == ["schedule-20261202T1010Z-710001", "schedule-20261202T1020Z-710001"] && owner.ids.count == 1)
    }
}
