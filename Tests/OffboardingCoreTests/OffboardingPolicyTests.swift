import OffboardingCore
import OffboardingTestSupport
import Testing

/// The operator's policy holds whatever a request says: criteria can be narrowed, not widened;
/// approval cannot be switched off; nothing is written to a configuration of another client.
@Suite struct OffboardingPolicyTests {
    typealias MemoryPSA = OffboarderTests.MemoryPSA

    let policy = OffboardingPolicy(offboardedStatuses: ["Offboarded", "Inactive"])

    func request(_ statuses: [String], requireApproval: Bool = false) -> OffboardingRequest {
        OffboardingRequest(
            eventID: "e", trigger: .api, client: .id("1"), options: OffboardingOptions(requireApproval: requireApproval, offboardedStatuses: statuses))
    }

    @Test func aRequestThatWidensTheCriteriaIsRefusedAndTouchesNothing() async {
        // The company is active: only a widened list would call it offboarded.
        let psa = MemoryPSA(company: .init(id: "1", name: "A", status: "Active"), configs: [.init(id: "1", name: "x", isActive: true)])
        let offboarder = Offboarder(psa: psa, configuration: .init(policy: policy), logger: .test())
        let result = await offboarder.run(request(["Active"]))
        #expect(!result.success)
        #expect(result.errors.map(\.code) == [.criteriaOverrideRefused])
        #expect(result.errors.first?.message.contains("\"Active\"") == true)
        #expect(psa.written.withLock { $0 }.isEmpty)
        // Mixed with configured statuses, the extra one is still refused.
        #expect(await offboarder.run(request(["Offboarded", "Active"])).errors.map(\.code) == [.criteriaOverrideRefused])
        // Retries and approvals carry statuses from a topic: held to the same rule.
        let retried = await offboarder.retry([.init(id: "1", name: "x", isActive: true)], for: request(["Active"]), attempt: 2)
        #expect(retried.result.errors.map(\.code) == [.criteriaOverrideRefused])
        #expect(psa.written.withLock { $0 }.isEmpty)
    }

    @Test func aRequestMayNarrowTheCriteria() async {
        let psa = MemoryPSA(company: .init(id: "1", name: "A", status: "Inactive"), configs: [.init(id: "1", name: "x", isActive: true)])
        let offboarder = Offboarder(psa: psa, configuration: .init(policy: policy), logger: .test())
        // Narrowed to a status the company is not in: nothing changes, and it is not a refusal.
        let narrowed = await offboarder.run(request(["offboarded"]))
        #expect(narrowed.success && narrowed.warnings.map(\.code) == [.clientNotOffboarded])
        let matching = await offboarder.run(request([" INACTIVE "]))
        #expect(matching.success && matching.statistics.configsDeactivated == 1)
    }

    @Test func theOperatorCanAllowWidening() async {
        let psa = MemoryPSA(company: .init(id: "1", name: "A", status: "Churned"), configs: [.init(id: "1", name: "x", isActive: true)])
        var open = policy
        open.allowRequestOverride = true
        let result = await Offboarder(psa: psa, configuration: .init(policy: open), logger: .test()).run(request(["Churned"]))
        #expect(result.success && result.statistics.configsDeactivated == 1)
    }

    @Test func approvalRequiredByTheOperatorCannotBeSwitchedOff() async {
        let defaults = OffboardingOptions(requireApproval: true, offboardedStatuses: ["Offboarded"])
        #expect(OffboardingOptions.Overrides(requireApproval: false).resolved(defaults: defaults).requireApproval)
        let psa = MemoryPSA(company: .init(id: "1", name: "A", status: "Offboarded"), configs: [.init(id: "1", name: "x", isActive: true)])
        var strict = policy
        strict.requireApproval = true
        // Even a request whose own options say no approval waits for one.
        let outcome = await Offboarder(psa: psa, configuration: .init(policy: strict), logger: .test()).runDetailed(request(["Offboarded"]))
        #expect(outcome.result.approval?.state == .pending)
        #expect(outcome.pendingApproval != nil)
        #expect(psa.written.withLock { $0 }.isEmpty)
    }

    @Test func configurationsOfAnotherClientAreNeverWritten() async throws {
        let psa = MemoryPSA(
            company: .init(id: "1", name: "A", status: "Offboarded"),
            configs: [
                .init(id: "1", name: "ours", isActive: true), .init(id: "2", name: "theirs", isActive: true, companyID: "2"),
                .init(id: "3", name: "nobody's", isActive: true, companyID: ""),
            ])
        let offboarder = Offboarder(psa: psa, configuration: .init(policy: policy), logger: .test())
        let result = await offboarder.run(request(["Offboarded"]))
        #expect(psa.written.withLock { $0 } == ["1"])
        #expect(result.configs.map(\.configID) == ["1"])
        #expect(result.statistics.configsFound == 1 && result.statistics.configsDeactivated == 1)
        let warning = try #require(result.warnings.first { $0.code == .ownershipMismatch })
        #expect(warning.message.contains("[\"2\", \"3\"]"))
        // A retry request naming a configuration the client does not have (here: another
        // client's) writes only what the PSA lists for the client.
        psa.written.withLock { $0 = [] }
        let retried = await offboarder.retry(
            [.init(id: "1", name: "ours", isActive: true), .init(id: "2", name: "theirs", isActive: true), .init(id: "77", name: "?", isActive: true)],
            for: request(["Offboarded"]), attempt: 2)
        #expect(psa.written.withLock { $0 } == ["1"])
        #expect(retried.result.warnings.filter { $0.code == .ownershipMismatch }.contains { $0.message.contains("[\"2\", \"77\"]") })
    }
}
