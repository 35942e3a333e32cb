import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingTestSupport
import Testing

/// Without a tracer configured (no `tracing.otlp_endpoint`), the trace an event came with is still
/// passed on: its result and its dead letter carry the same `traceparent`, from either CloudEvents mode.
@Suite(.timeLimit(.minutes(2)))
struct TracePropagationTests {
    @Test(arguments: [false, true])
    func theResultCarriesTheEventsTraceparent(binary: Bool) async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let (client, _) = await harness.makeClient(active: 1)
        var event = harness.event(forClient: client, options: .init(dryRun: true))
        let trace = TraceParent.random()
        event.traceParent = trace
        try await harness.send(event, binary: binary)
        let (record, _) = try await harness.result(for: event.id)
        #expect(record.headers.last(named: "traceparent")?.stringValue == trace.description)
    }

    @Test func aDeadLetterCarriesTheEventsTraceparentOnce() async throws {
        let harness = try await PipelineHarness.shared(.connectwise)
        try await harness.waitForAssignment()
        let (client, _) = await harness.makeClient(active: 1)
        var event = harness.event(forClient: client, psa: .halopsa)
        let trace = TraceParent.random()
        event.traceParent = trace
        try await harness.send(event, binary: true)
        let letters = try await harness.deadLetters.wait(timeout: .seconds(30), for: "the dead letter") { records in
            records.contains { $0.headers.last(named: "ce_id")?.stringValue == event.id }
        }
        let letter = try #require(letters.first { $0.headers.last(named: "ce_id")?.stringValue == event.id })
        #expect(letter.headers.filter { $0.key == "traceparent" }.map(\.stringValue) == [trace.description])
        #expect(letter.headers.last(named: "dlq.error.code")?.stringValue == OffboardingErrorCode.psaMismatch.rawValue)
    }
}
