import Foundation

/// Whether and how a record runs: every rule that decides it, for events, retries, approval
/// decisions and restores alike, in one pure function of the decoded record, the operator's policy
/// and what this replica has read of its own topics. The pipeline acts on the verdict and decides
/// nothing of its own.
public struct Admission: Sendable {
    /// The PSA this consumer serves.
    public var psa: PSAKind
    /// `defaults.*`: what a record that does not say runs as.
    public var defaults: OffboardingOptions
    /// What makes a client offboarded; its statuses are `defaults.offboardedStatuses`.
    public var criteria: OffboardingCriteria
    /// Company status names the PSA itself flags inactive (ConnectWise's `inactiveFlag`); nil when
    /// they could not be read, and then no event is filtered by its status alone.
    public var inactiveStatusNames: [String]?

    public init(psa: PSAKind, defaults: OffboardingOptions, criteria: OffboardingCriteria, inactiveStatusNames: [String]? = []) {
        self.psa = psa
        self.defaults = defaults
        self.criteria = criteria
        self.inactiveStatusNames = inactiveStatusNames
    }

    /// What this replica has read of the results and approvals topics, as the verdict needs it.
    public struct Ledger: Sendable {
        /// Whether a result of this event is already on the results topic.
        public var hasResult: @Sendable (_ source: String, _ eventID: String) -> Bool
        /// The approval as last read from the approvals topic; nil when unknown.
        public var approval: @Sendable (_ id: String) -> ApprovalRecord?
        public var now: Date

        public init(
            hasResult: @escaping @Sendable (String, String) -> Bool = { _, _ in false }, approval: @escaping @Sendable (String) -> ApprovalRecord? = { _ in nil },
            now: Date = Date()
        ) {
            self.hasResult = hasResult
            self.approval = approval
            self.now = now
        }
    }

    public enum Verdict: Sendable {
        /// Nothing is done: the record goes to the dead-letter topic with this code and reason.
        case deadLetter(OffboardingErrorCode, reason: String)
        /// A status report whose status is not an offboarded one.
        case filtered
        /// The event already has a result (a redelivery after a crash).
        case duplicate
        /// A decision about an approval that is decided already.
        case alreadyDecided(ApprovalState)
        /// Bookkeeping of the approvals topic, which the store has read.
        case nothingToDo
        case run(Order)
    }

    /// A run the verdict lets through, with everything it runs under.
    public struct Order: Sendable {
        public enum Work: Sendable {
            /// An offboarding of the request's client.
            case offboard
            /// Exactly the retry request's configurations again.
            case retry(RetryRequest)
            /// Undo the offboarding the event names (`restores`).
            case restore(CompanyStatusChangedEvent)
            /// Carry out an approved approval.
            case execute(ApprovalRecord, ApprovalDecision)
            /// End an approval without changes: rejected, or expired before its decision.
            case decline(ApprovalRecord, ApprovalState, ApprovalDecision?)
        }

        public var work: Work
        public var request: OffboardingRequest
        /// The attempt the record asks for (1 unless it comes from the retry topic).
        public var attempt: Int
        /// The attempt whose journal the run keeps: a retry request's own, else the first.
        public var journalAttempt: Int
        /// A status report let through only because other criteria might hold: when the PSA says
        /// none does, it ends as a filtered event rather than a result.
        public var filteredWhenNotOffboarded: Bool
        /// The approval's state to keep once the result is out (for a decision).
        public var finalApproval: ApprovalRecord?

        public init(
            work: Work, request: OffboardingRequest, attempt: Int, journalAttempt: Int = 1, filteredWhenNotOffboarded: Bool = false,
            finalApproval: ApprovalRecord? = nil
        ) {
            self.work = work
            self.request = request
            self.attempt = attempt
            self.journalAttempt = journalAttempt
            self.filteredWhenNotOffboarded = filteredWhenNotOffboarded
            self.finalApproval = finalApproval
        }
    }

    /// The one decision. A decision record must be judged inside its approval's gate, after the
    /// approvals topic was read up to it, so that `ledger.approval` is current.
    public func verdict(for record: InboundRecord, ledger: Ledger) -> Verdict {
        // The retry and approvals topics are the service's own: what it did not sign, it does not act on.
        if record.origin != .events, !record.signed { return Self.unsigned }
        switch record.content {
        case .invalid(let code, let reason):
            return .deadLetter(code, reason: reason)
        case .bookkeeping:
            return .nothingToDo
        case .event(let event):
            return verdict(for: event, record: record, ledger: ledger)
        case .retryRequest(let retry):
            guard retry.psa == psa else {
                return .deadLetter(.psaMismatch, reason: "retry request is for \(retry.psa) but this consumer serves \(psa)")
            }
            return .run(Order(work: .retry(retry), request: retry.request(defaults: defaults), attempt: retry.attempt, journalAttempt: retry.attempt))
        case .decision(let decision):
            return verdict(for: decision, attempt: record.attempt, ledger: ledger)
        }
    }

    private func verdict(for event: CompanyStatusChangedEvent, record: InboundRecord, ledger: Ledger) -> Verdict {
        guard event.psa == psa else {
            return .deadLetter(.psaMismatch, reason: "event is for \(event.psa) but this consumer serves \(psa)")
        }
        guard !isFiltered(event) else { return .filtered }
        if ledger.hasResult(event.source, event.id) { return .duplicate }
        let options = event.options.resolved(defaults: defaults)
        let request = OffboardingRequest(
            eventID: event.id, trigger: event.trigger, client: .id(event.companyID), clientNameHint: event.companyName, options: options,
            eventSource: event.source)
        if event.trigger == .restore {
            // Only the service's own API asks for a restore: one it did not sign is not acted on.
            guard record.signed else { return Self.unsigned }
            return .run(Order(work: .restore(event), request: request, attempt: record.attempt))
        }
        let filteredWhenNotOffboarded =
            reportsStatus(event) && !criteria.with(statuses: offboardedNames(options.offboardedStatuses)).isOffboarded(status: event.status)
        return .run(Order(work: .offboard, request: request, attempt: record.attempt, filteredWhenNotOffboarded: filteredWhenNotOffboarded))
    }

    private func verdict(for decision: ApprovalDecision, attempt: Int, ledger: Ledger) -> Verdict {
        guard let approval = ledger.approval(decision.approvalID) else {
            return .deadLetter(.invalidEvent, reason: "approval \(decision.approvalID) is not known")
        }
        guard approval.state == .pending else { return .alreadyDecided(approval.state) }
        guard approval.psa == psa else {
            return .deadLetter(.psaMismatch, reason: "approval is for \(approval.psa) but this consumer serves \(psa)")
        }
        var final = approval
        let work: Order.Work
        if approval.isExpired(at: ledger.now) {
            final.state = .expired
            work = .decline(approval, .expired, nil)
        } else if decision.decision == .reject {
            final.state = .rejected
            final.decision = decision
            work = .decline(approval, .rejected, decision)
        } else {
            final.state = .approved
            final.decision = decision
            work = .execute(approval, decision)
        }
        return .run(Order(work: work, request: approval.request(dryRun: defaults.dryRun), attempt: attempt, finalApproval: final))
    }

    private static let unsigned = Verdict.deadLetter(
        .unauthenticatedRecord, reason: "the record has no valid offboarding.signature of this service (security.signing_keys); nothing was done with it")

    /// A status report (event, webhook) is filtered by the status it reports when the status
    /// alone can decide (see `OffboardingCriteria.statusIsRequired`); a request (API, schedule,
    /// manual) always gets a result, and the run checks the PSA's current state.
    public func isFiltered(_ event: CompanyStatusChangedEvent) -> Bool {
        guard event.psa == psa, reportsStatus(event), let statuses = filteringStatuses(event.options.resolved(defaults: defaults).offboardedStatuses) else {
            return false
        }
        return !criteria.with(statuses: statuses).isOffboarded(status: event.status)
    }

    /// The status names that let an event through the filter, or nil when an event's status
    /// cannot decide: other criteria may hold whatever the status, or the PSA's own inactive
    /// statuses are not known. With `defaults.offboardedStatuses`, what the prefilter checks.
    public func filteringStatuses(_ statuses: [String]? = nil) -> [String]? {
        guard criteria.statusIsRequired, inactiveStatusNames != nil else { return nil }
        return offboardedNames(statuses ?? defaults.offboardedStatuses)
    }

    /// The status names that count as offboarded: the given ones and those the PSA flags inactive.
    private func offboardedNames(_ statuses: [String]) -> [String] {
        statuses + (inactiveStatusNames ?? [])
    }

    private func reportsStatus(_ event: CompanyStatusChangedEvent) -> Bool {
        event.trigger == .event || event.trigger == .webhook
    }
}
