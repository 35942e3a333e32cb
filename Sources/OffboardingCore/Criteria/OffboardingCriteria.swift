import Foundation

/// What makes a client offboarded (`criteria.*`): its status, its company type, the end of its
/// contracts, combined with `match`. The event filter, a run's re-check and the sweep all ask this
/// one type, so they can never disagree.
public struct OffboardingCriteria: Sendable, Hashable {
    public enum Match: String, Sendable, Hashable, CaseIterable {
        /// Offboarded when any configured criterion holds.
        case any
        /// Offboarded when every configured criterion holds.
        case all
    }

    /// One criterion, named as in the configuration and in the result's `matched`.
    public enum Criterion: String, Sendable, Hashable, CaseIterable, Codable {
        case status
        case companyTypes = "company_types"
        case contractsEnded = "contracts_ended"
    }

    /// `criteria.offboarded_statuses`: status names (and Autotask company type labels, as before
    /// `company_types` existed). On ConnectWise a status whose `inactiveFlag` is set also counts.
    public var statuses: [String]
    /// `criteria.company_types`: ConnectWise company types, Autotask company type or classification
    /// labels, HaloPSA client types.
    public var companyTypes: [String]
    /// `criteria.contracts_ended.after`: how long ago the last contract must have ended.
    public var contractsEndedAfter: Duration?
    public var match: Match

    /// `criteria.offboarded_statuses` when the file does not say.
    public static let defaultStatuses = ["Inactive", "Offboarded"]

    public init(statuses: [String], companyTypes: [String] = [], contractsEndedAfter: Duration? = nil, match: Match = .any) {
        self.statuses = statuses
        self.companyTypes = companyTypes
        self.contractsEndedAfter = contractsEndedAfter
        self.match = match
    }

    /// The criteria the operator set, in a fixed order.
    public var configured: [Criterion] {
        var criteria: [Criterion] = []
        if !statuses.isEmpty { criteria.append(.status) }
        if !companyTypes.isEmpty { criteria.append(.companyTypes) }
        if contractsEndedAfter != nil { criteria.append(.contractsEnded) }
        return criteria
    }

    /// Whether a run needs the client's contracts to decide.
    public var needsContracts: Bool { contractsEndedAfter != nil }

    /// Whether an event whose reported status is not an offboarded one can be filtered on that
    /// alone: only when the status must hold (it is the only criterion, or `match` is `all`).
    public var statusIsRequired: Bool {
        let configured = configured
        return configured.contains(.status) && (configured.count == 1 || match == .all)
    }

    /// The same criteria with the statuses a request narrowed them to.
    public func with(statuses: [String]) -> OffboardingCriteria {
        var criteria = self
        criteria.statuses = statuses
        return criteria
    }

    /// The criteria the company meets, in `configured` order. `contracts` is nil when they were not read.
    public func matched(_ company: PSACompany, contracts: [PSAContract]?, now: Date) -> [Criterion] {
        var matched: [Criterion] = []
        if !statuses.isEmpty, company.statusInactiveFlag || company.statusNames.contains(where: isOffboarded(status:)) {
            matched.append(.status)
        }
        if !companyTypes.isEmpty, company.types.contains(where: { type in companyTypes.contains { Self.same($0, type) } }) {
            matched.append(.companyTypes)
        }
        if let after = contractsEndedAfter, let contracts, Self.contractsEnded(contracts, after: after, now: now) {
            matched.append(.contractsEnded)
        }
        return matched
    }

    /// Whether what matched makes the client offboarded under `match`.
    public func isMet(by matched: [Criterion]) -> Bool {
        let configured = configured
        guard !configured.isEmpty else { return false }
        switch match {
        case .any: return !matched.isEmpty
        case .all: return Set(configured).isSubset(of: matched)
        }
    }

    /// Whether a status name is one of `statuses`. Case and surrounding blanks are ignored because
    /// status names are typed by people.
    public func isOffboarded(status: String) -> Bool {
        statuses.contains { Self.same($0, status) }
    }

    /// None in effect, and the last one ended at least `after` ago. A client without any contract
    /// has no contract end: it does not meet this criterion (nothing says it ever was a client).
    public static func contractsEnded(_ contracts: [PSAContract], after: Duration, now: Date) -> Bool {
        guard !contracts.isEmpty, !contracts.contains(where: \.inEffect) else { return false }
        // An ended contract without a date cannot say when it ended: it does not count as long ago.
        guard contracts.allSatisfy({ $0.endDate != nil }), let last = contracts.compactMap(\.endDate).max() else { return false }
        return last <= now.addingTimeInterval(-after.seconds)
    }

    /// Names as people type them: case and surrounding blanks do not count.
    static func same(_ a: String, _ b: String) -> Bool {
        OffboardingOptions.normalize(a) == OffboardingOptions.normalize(b)
    }
}
