import Foundation

/// A client's billing agreement as the PSA reports it: a ConnectWise agreement, an Autotask
/// contract, a HaloPSA client contract. Read for the `contracts_ended` criterion and for the
/// post-execution billing check.
public struct PSAContract: Sendable, Hashable {
    public var id: String
    public var name: String
    public var companyID: String
    /// When it ended or ends; nil when it has no end (open-ended, or the PSA gives none).
    public var endDate: Date?
    /// Whether the PSA has it in effect now: not cancelled, not expired, its end not passed.
    public var inEffect: Bool

    public init(id: String, name: String, companyID: String, endDate: Date?, inEffect: Bool) {
        self.id = id
        self.name = name
        self.companyID = companyID
        self.endDate = endDate
        self.inEffect = inEffect
    }
}
