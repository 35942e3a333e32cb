import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingTestSupport
@testable import OffboardingService
import Synchronization
import Testing

/// The small concurrency pieces the pipeline is built from, each on its own.
@Suite(.timeLimit(.minutes(1)))
struct ConcurrencyPiecesTests {
    // MARK: KeyedLanes

    @Test func itemsOfOneKeyRunInArrivalOrderAndKeysRunSideBySide() async {
        let lanes = KeyedLanes<Int>()
        let log = Shared<[String: [Int]]>([:])
        var started: [String] = []
        for index in 0..<30 {
            let key = "k\(index % 3)"
            if lanes.enqueue(index, key: key) { started.append(key) }
        }
        // One lane per key, whatever the number of items.
        #expect(started == ["k0", "k1", "k2"])
        await withTaskGroup(of: Void.self) { group in
            for key in started {
                group.addTask {
                    while let item = lanes.next(for: key) {
                        await Task.yield()
                        log.withLock { $0[key, default: []].append(item) }
                        lanes.done()
                    }
                }
            }
        }
        let seen = log.withLock { $0 }
        for (offset, key) in ["k0", "k1", "k2"].enumerated() {
            #expect(seen[key] == Array(stride(from: offset, to: 30, by: 3)))
        }
        #expect(lanes.pending == 0)
    }

    @Test func drainingAbandonsQueuedItemsButNotTheRunningOne() {
        let lanes = KeyedLanes<Int>()
        #expect(lanes.enqueue(1, key: "a"))
        #expect(!lanes.enqueue(2, key: "a"))
        #expect(!lanes.enqueue(3, key: "a"))
        #expect(lanes.next(for: "a") == 1)
        lanes.drain()
        lanes.done()
        // The lane closes; the two queued items are given up (their records are redelivered).
        #expect(lanes.next(for: "a") == nil)
        #expect(lanes.abandoned == 2)
        #expect(lanes.pending == 0)
        // A new item after the lane closed starts a new lane, which a draining pipeline never runs.
        #expect(lanes.enqueue(4, key: "a"))
        #expect(lanes.next(for: "a") == nil)
    }

    // MARK: CapacitySignal

    @Test func aSignalWithNobodyWaitingIsKeptForTheNextWait() async {
        let signal = CapacitySignal()
        signal.signal()
        #expect(await signal.wait(upTo: .seconds(30)))
        // Used up: the next wait times out.
        #expect(await signal.wait(upTo: .milliseconds(20)) == false)
    }

    @Test func aWaitEndsWhenItsTimeRunsOut() async {
        let signal = CapacitySignal()
        let started = ContinuousClock.now
        #expect(await signal.wait(upTo: .milliseconds(50)) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func aSignalWakesEveryWaiter() async {
        let signal = CapacitySignal()
        let woken = Shared(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    if await signal.wait(upTo: .seconds(30)) { woken.withLock { $0 += 1 } }
                }
            }
            // Signal until every waiter is woken: a signal before a waiter is queued is kept for it.
            while woken.withLock({ $0 }) < 5 {
                signal.signal()
                await Task.yield()
            }
        }
        #expect(woken.withLock { $0 } == 5)
    }

    // MARK: StopSignal

    @Test func aSleepEndsAtTheStopAndLaterSleepsReturnAtOnce() async {
        let stop = StopSignal()
        let started = ContinuousClock.now
        async let slept = stop.sleep(for: .seconds(3600))
        // The sleeper may not be queued yet: stop anyway; a stop before the wait is seen by it.
        stop.stop()
        #expect(await slept == false)
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(await stop.sleep(for: .seconds(3600)) == false)
    }

    @Test func aSleepThatRunsItsCourseSaysSo() async {
        let stop = StopSignal()
        #expect(await stop.sleep(for: .milliseconds(10)))
    }

    @Test func aCancelledSleepEndsAndSaysSo() async {
        let stop = StopSignal()
        let sleeper = Task { await stop.sleep(for: .seconds(3600)) }
        sleeper.cancel()
        #expect(await sleeper.value == false)
    }

    // MARK: DecisionGate

    @Test func oneDecisionPerApprovalAtATimeAndOthersGoOn() async {
        let gate = DecisionGate()
        let inside = Shared<[String: Int]>([:])
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let id = "approval-\(index % 4)"
                group.addTask {
                    await gate.withDecision(on: id) {
                        inside.withLock { $0[id, default: 0] += 1 }
                        #expect(inside.withLock { $0[id] } == 1, "two decisions of \(id) at once")
                        await Task.yield()
                        inside.withLock { $0[id]! -= 1 }
                    }
                }
            }
        }
        #expect(inside.withLock { $0.values.allSatisfy { $0 == 0 } })
    }

    @Test func theExpiryPassesAnApprovalBeingDecidedInsteadOfWaiting() async {
        let gate = DecisionGate()
        let (entered, inside) = AsyncStream<Void>.makeStream()
        let (released, release) = AsyncStream<Void>.makeStream()
        let decision = Task {
            await gate.withDecision(on: "a") {
                inside.yield()
                for await _ in released { break }
            }
        }
        for await _ in entered { break }
        #expect(await gate.withDecisionIfFree(on: "a") {} == false, "busy: passed over")
        #expect(await gate.withDecisionIfFree(on: "b") {} == true, "another approval is free")
        release.yield()
        await decision.value
        #expect(await gate.withDecisionIfFree(on: "a") {} == true)
    }

    // MARK: RecentEntries

    @Test func theOldestEntriesGoFirstWhenTheBudgetIsExceeded() {
        let cost = 2 + RecentEntries<Void>.overhead  // two-character keys
        var entries = RecentEntries<Void>(budget: cost * 3)
        for key in ["k1", "k2", "k3"] { entries.set(key, ()) }
        #expect(entries.count == 3 && entries.bytes == cost * 3)
        entries.set("k4", ())
        #expect(!entries.contains("k1") && entries.contains("k4") && entries.count == 3)
        // Replacing makes an entry the newest.
        entries.set("k2", ())
        entries.set("k5", ())
        #expect(!entries.contains("k3") && entries.contains("k2"))
        entries.remove("k2")
        #expect(entries.bytes == cost * 2)
    }

    @Test func largeValuesTakeTheirSizeFromTheBudget() {
        var bodies = RecentEntries<[UInt8]>(budget: 10_000)
        bodies.set("a", [UInt8](repeating: 1, count: 4_000), size: 4_000)
        bodies.set("b", [UInt8](repeating: 2, count: 4_000), size: 4_000)
        bodies.set("c", [UInt8](repeating: 3, count: 4_000), size: 4_000)
        #expect(bodies["a"] == nil && bodies["b"]?.count == 4_000 && bodies["c"]?.count == 4_000)
        #expect(bodies.bytes <= 10_000)
        // Larger than the whole budget: not kept, and nothing else is pushed out for it.
        bodies.set("huge", [UInt8](repeating: 4, count: 20_000), size: 20_000)
        #expect(bodies["huge"] == nil && bodies.count == 2)
    }

    @Test func aCountBoundShedsTheOldestAndSaysHowMany() {
        var entries = RecentEntries<Int>(budget: 1 << 20, maxCount: 2)
        #expect(entries.set("a", 1) == 0 && entries.set("b", 2) == 0)
        #expect(entries.set("c", 3) == 1, "one entry dropped to make room")
        #expect(!entries.contains("a") && entries.count == 2)
        #expect(entries.set("c", 4) == 0, "replacing drops nothing")
    }

    /// The approvals topic is read into memory whole: pending approvals and run journals are held
    /// within a count (here 2), the oldest shed first, counted and logged.
    @Test func theApprovalStoreHoldsPendingApprovalsAndJournalsWithinItsBound() async throws {
        let kafka = try KafkaFixture(partitions: .init(approvals: 1))
        let signer = RecordSigner(keys: [Array(PipelineHarness.signingKey.utf8)])
        let producer = try kafka.makeProducer(signer: signer)
        for index in 1...3 {
            let approval = ApprovalRecord(
                approvalID: "approval-\(index)", state: .pending, eventID: "e\(index)", trigger: .api, psa: .connectwise, clientID: "1", clientName: nil,
                reason: nil, offboardedStatuses: ["Offboarded"], cause: .requested, requestedAt: "2026-01-01T00:00:0\(index)Z",
                expiresAt: "2099-01-01T00:00:00Z", configs: [])
            try await producer.send(.init(topic: kafka.topics.approvals, key: approval.approvalID, value: ApprovalMessage.record(approval).encoded()))
            let journal = RunJournal(eventID: "e\(index)", attempt: 1, psa: .connectwise, clientID: "1", startedAt: "2026-01-01T00:00:00Z", configs: [])
            try await producer.send(.init(topic: kafka.topics.approvals, key: journal.key, value: ApprovalMessage.journal(journal).encoded()))
        }
        await producer.shutdown()
        var limits = ApprovalsTopicView.Limits()
        limits.pendingApprovals = 2
        limits.journals = 2
        let store = try ApprovalsTopicView(
            bootstrapServers: kafka.bootstrapServers, topic: kafka.topics.approvals, partitionCount: 1, properties: [:], signer: signer, limits: limits, logger: .test())
        try await store.catchUp(timeout: .seconds(60))
        #expect(store.pending.map(\.approvalID) == ["approval-2", "approval-3"])
        #expect(store.journalCount == 2 && store.journal(eventID: "e1", attempt: 1) == nil)
        await store.stop()
    }

    @Test func replacingOneKeyForeverKeepsMemoryBounded() {
        var entries = RecentEntries<Int>(budget: 1 << 20)
        for value in 0..<100_000 { entries.set("same", value) }
        #expect(entries.count == 1 && entries["same"] == 99_999)
        #expect(entries.bytes == 4 + RecentEntries<Int>.overhead)
    }
}

/// A value tasks share, behind a lock.
private final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func withLock<T>(_ body: (inout sending Value) -> sending T) -> T { value.withLock(body) }
}
