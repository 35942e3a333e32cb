import OffboardingCore
import Synchronization

/// What this replica has read of the results and approvals topics and of the PSA before its first
/// record, shared by the chain's steps. Each is set once at start-up; nil until then.
final class PipelineViews: Sendable {
    let ledger = Mutex<ResultLedger?>(nil)
    let approvals = Mutex<ApprovalsTopicView?>(nil)
    /// Company status names the PSA itself calls inactive (ConnectWise's `inactiveFlag`); nil when
    /// they could not be read, and then no event is filtered by its status alone.
    let inactiveStatusNames = Mutex<[String]?>([])
    /// The latest read of the approvals topic to its end, started when partitions were assigned.
    let journalsRead = Mutex<Task<Void, Never>?>(nil)

    /// The admission with the PSA's inactive statuses as read at start-up.
    func current(_ admission: Admission) -> Admission {
        var current = admission
        current.inactiveStatusNames = inactiveStatusNames.withLock { $0 }
        return current
    }

    /// The ledger as the admission decision reads it.
    func admissionLedger() -> Admission.Ledger {
        let ledger = ledger.withLock { $0 }
        let store = approvals.withLock { $0 }
        return Admission.Ledger(
            hasResult: { source, eventID in ledger?.contains(source: source, eventID: eventID) == true },
            approval: { store?.approval($0) })
    }
}
