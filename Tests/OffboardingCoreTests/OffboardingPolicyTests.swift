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

    // MARK: Policy on retry and approval records

    /// Three active configurations of an offboarded client: two firewalls and a switch.
    func offboardedClient() -> MemoryPSA {
        MemoryPSA(
            company: .init(id: "1", name: "A", status: "Offboarded"),
            configs: [
                .init(id: "1", name: "fw1", isActive: true, typeName: "Firewall"), .init(id: "2", name: "fw2", isActive: true, typeName: "Firewall"),
                .init(id: "3", name: "sw", isActive: true, typeName: "Switch"),
            ])
    }

    func retrying(_ ids: [String], _ offboarder: Offboarder, statuses: [String] = ["Offboarded"], grant: RetryRequest.ApprovalGrant? = nil)
        async -> Offboarder.Outcome
    {
        await offboarder.retry(ids.map { .init(id: $0, name: $0, isActive: true) }, for: request(statuses), attempt: 2, grant: grant)
    }

    @Test func anEmptyStatusListIsRefusedWhereStatusesAreConfigured() async {
        let psa = offboardedClient()
        let offboarder = Offboarder(psa: psa, configuration: .init(policy: policy), logger: .test())
        // Under match: all, an empty list would drop the status criterion and leave the others to decide.
        let retried = await retrying(["1"], offboarder, statuses: [])
        #expect(retried.result.errors.map(\.code) == [.criteriaOverrideRefused])
        #expect(retried.result.errors.first?.message.contains("empty") == true)
        #expect(await offboarder.run(request([])).errors.map(\.code) == [.criteriaOverrideRefused])
        #expect(psa.written.withLock { $0 }.isEmpty)
        // Where the operator configured no status (other criteria decide), an empty list is the configuration.
        #expect(OffboardingPolicy(offboardedStatuses: []).refusal(of: []) == nil)
    }

    @Test func aRetryWritesOnlyWhatTheScopeAllows() async {
        let psa = offboardedClient()
        let offboarder = Offboarder(psa: psa, configuration: .init(scope: .init(excludeTypes: ["switch"]), policy: policy), logger: .test())
        let retried = await retrying(["1", "3"], offboarder)
        #expect(psa.written.withLock { $0 } == ["1"])
        #expect(retried.result.configs.first { $0.configID == "3" }?.skipReason == .outOfScope)
    }

    @Test func aRetryWithoutTheApprovalThePolicyRequiresWaitsForOne() async {
        let psa = offboardedClient()
        var strict = policy
        strict.requireApproval = true
        let offboarder = Offboarder(psa: psa, configuration: .init(policy: strict), logger: .test())
        let retried = await retrying(["1", "2"], offboarder)
        #expect(psa.written.withLock { $0 }.isEmpty, "nothing is written without an approval")
        #expect(retried.pendingApproval?.approvalID == "approval-e#2", "an approval of its own: the first attempt's may be decided")
        #expect(retried.pendingApproval?.configs.map(\.configID) == ["1", "2"])
        #expect(retried.result.configs.map(\.action) == [.pendingApproval, .pendingApproval])
        // The approval the first attempt ran under lets it through, for what it covers.
        let grant = RetryRequest.ApprovalGrant(approvalID: "approval-e", approver: "jane", configIDs: ["1", "2"])
        let covered = await retrying(["1", "2"], offboarder, grant: grant)
        #expect(covered.pendingApproval == nil)
        #expect(psa.written.withLock { $0 }.sorted() == ["1", "2"], "each once, in any order: they are written at once")
        #expect(covered.grant == grant, "a further retry carries it on")
        // A configuration it does not cover waits, with the rest of that retry.
        let beyond = await retrying(["2", "3"], offboarder, grant: grant)
        #expect(beyond.pendingApproval?.configs.map(\.configID) == ["2", "3"])
        #expect(psa.written.withLock { $0 }.sorted() == ["1", "2"])
    }

    @Test func aRetryAboveTheBlastRadiusWaitsForAnApproval() async {
        let psa = offboardedClient()
        let offboarder = Offboarder(psa: psa, configuration: .init(scope: .init(maxConfigs: 2), policy: policy), logger: .test())
        let retried = await retrying(["1", "2", "3"], offboarder)
        #expect(retried.pendingApproval?.cause == .maxConfigs)
        #expect(psa.written.withLock { $0 }.isEmpty)
    }

    @Test func aRetryThatDoesNotSayRunsAsTheDefaultsSay() async {
        let psa = offboardedClient()
        var previewing = policy
        previewing.dryRun = true
        let offboarder = Offboarder(psa: psa, configuration: .init(policy: previewing), logger: .test())
        let defaults = OffboardingOptions(dryRun: true, offboardedStatuses: ["Offboarded"])
        let silent = RetryRequest(
            eventID: "e", trigger: .event, psa: .connectwise, clientID: "1", clientName: nil, reason: nil, offboardedStatuses: ["Offboarded"], attempt: 2,
            configs: [.init(configID: "1", configName: "fw1")])
        let previewed = await offboarder.retry(silent.configurations, for: silent.request(defaults: defaults), attempt: 2)
        #expect(previewed.result.dryRun)
        #expect(previewed.result.configs.map(\.action) == [.wouldDeactivate])
        #expect(psa.written.withLock { $0 }.isEmpty)
        // One written by a real run says so, and runs for real.
        var carried = silent
        carried.dryRun = false
        _ = await offboarder.retry(carried.configurations, for: carried.request(defaults: defaults), attempt: 2)
        #expect(psa.written.withLock { $0 } == ["1"])
    }

    @Test func anApprovalRunsUnderTheScopeOfToday() async throws {
        let psa = offboardedClient()
        let offboarder = Offboarder(psa: psa, configuration: .init(scope: .init(excludeTypes: ["Switch"]), policy: policy), logger: .test())
        let approval = ApprovalRecord(
            approvalID: "approval-e", state: .pending, eventID: "e", trigger: .event, psa: .connectwise, clientID: "1", clientName: "A", reason: nil,
            offboardedStatuses: ["Offboarded"], cause: .requested, requestedAt: "2026-01-01T00:00:00Z", expiresAt: "2099-01-01T00:00:00Z",
            configs: [.init(configID: "1", configName: "fw1"), .init(configID: "3", configName: "sw")])
        let outcome = await offboarder.execute(approval, decision: .init(approvalID: "approval-e", decision: .approve, approver: "jane"))
        #expect(psa.written.withLock { $0 } == ["1"], "the switch left the scope since it was approved")
        #expect(outcome.result.configs.first { $0.configID == "3" }?.skipReason == .outOfScope)
        #expect(outcome.grant?.configIDs == ["1", "3"])
    }

    /// A retry whose earlier write landed unanswered finds its configuration inactive. When the
    /// retry has to wait for an approval, the approval keeps what the configuration was before, and
    /// the approved run reports it deactivated with that state, so that a restore can put it back.
    @Test func anApprovalMadeForARetryKeepsTheStateBeforeTheOffboarding() async throws {
        let psa = MemoryPSA(
            company: .init(id: "1", name: "A", status: "Offboarded"), configs: [.init(id: "1", name: "fw1", isActive: false, statusID: "9")])
        var strict = policy
        strict.requireApproval = true
        let offboarder = Offboarder(psa: psa, configuration: .init(policy: strict), logger: .test())
        let before = OffboardingResult.PSAPrevious(active: true, status: .init(id: "1", name: "Active"))
        let retried = await offboarder.retry([.init(id: "1", name: "fw1", isActive: true)], for: request(["Offboarded"]), attempt: 2, statesBefore: ["1": before])
        let approval = try #require(retried.pendingApproval)
        #expect(approval.configs.first?.previous == before)
        #expect(retried.result.configs.first?.status == .inactive, "reported as the PSA lists it now")
        let outcome = await offboarder.execute(approval, decision: .init(approvalID: approval.approvalID, decision: .approve, approver: "jane"))
        #expect(psa.written.withLock { $0 } == ["1"], "written again, as the retry would have")
        #expect(outcome.result.configs.first?.action == .deactivated)
        #expect(outcome.result.configs.first?.psaPrevious?.status?.id == "1", "what a restore puts back")
    }
}
