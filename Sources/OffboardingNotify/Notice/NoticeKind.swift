/// What a notice tells; a channel chooses the kinds it gets (`notify.channels[].notices`).
public enum NoticeKind: String, Sendable, Hashable, CaseIterable, Codable {
    case approvalPending = "approval_pending"
    case approvalDecided = "approval_decided"
    case approvalExpired = "approval_expired"
    case offboardingFailed = "offboarding_failed"
    case offboardingWarnings = "offboarding_warnings"
    case restored
    case deadLettered = "dead_lettered"
}
