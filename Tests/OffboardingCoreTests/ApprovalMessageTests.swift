import OffboardingCore
import Testing

/// A decision on the approvals topic, as any producer may write it: the reviewer's kept
/// configurations decode, and a `keep` of the wrong shape, or on a rejection, is refused by name.
@Suite struct ApprovalMessageTests {
    func decode(_ text: String) throws(InvalidEventError) -> ApprovalMessage {
        try ApprovalMessage.decode(Array(text.utf8))
    }

    @Test func aDecisionCarriesTheConfigurationsTheReviewerKept() throws {
        let message = try decode(#"{"approval_id":"a-1","decision":"approve","approver":"jane","keep":["7","9"]}"#)
        guard case .decision(let decision) = message else {
            Issue.record("not a decision: \(message)")
            return
        }
        #expect(decision.keep == ["7", "9"])
        // Written back as read, so that every replica decides the same.
        guard case .decision(let again) = try ApprovalMessage.decode(ApprovalMessage.decision(decision).encoded()) else {
            Issue.record("not a decision")
            return
        }
        #expect(again == decision)
    }

    @Test(arguments: [
        #"{"approval_id":"a-1","decision":"reject","approver":"jane","keep":["7"]}"#,
        #"{"approval_id":"a-1","decision":"approve","approver":"jane","keep":[7]}"#,
        #"{"approval_id":"a-1","decision":"approve","approver":"jane","keep":[""]}"#,
        #"{"approval_id":"a-1","decision":"approve","approver":"jane","keep":"7"}"#,
    ])
    func aKeepOfTheWrongShapeIsRefused(record: String) {
        #expect(throws: InvalidEventError.self) { try decode(record) }
        do {
            _ = try decode(record)
        } catch {
            #expect(error.message.contains("keep must be a list of configuration ids"), "\(error.message)")
        }
    }
}
