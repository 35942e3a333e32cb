import Foundation

/// How a client company is named in a request.
public enum ClientReference: Sendable, Hashable, CustomStringConvertible {
    case id(String)
    /// An exact company name.
    case name(String)

    public var description: String {
        switch self {
        case .id(let id): "id \(id)"
        case .name(let name): "name \"\(name)\""
        }
    }
}

/// A client company as the PSA reports it now.
public struct PSACompany: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The PSA's status name: ConnectWise's company status; `Active` or `Inactive` for Autotask and HaloPSA.
    public var status: String
    /// Further names the offboarding criteria may match, such as Autotask's company type label
    /// (`Cancellation`, `Dead`), which many MSPs use for churned clients.
    public var labels: [String]
    /// ConnectWise: the company status has `inactiveFlag` set, whatever its name.
    public var statusInactiveFlag: Bool
    /// The company's types by name, for `criteria.company_types`: ConnectWise company types,
    /// Autotask company type and classification labels, HaloPSA client type.
    public var types: [String]

    public init(id: String, name: String, status: String, labels: [String] = [], statusInactiveFlag: Bool = false, types: [String] = []) {
        self.id = id
        self.name = name
        self.status = status
        self.labels = labels
        self.statusInactiveFlag = statusInactiveFlag
        self.types = types
    }

    /// Every name the criteria are checked against.
    public var statusNames: [String] { [status] + labels }
}

/// A configuration item (ConnectWise configuration, Autotask configuration item, Halo asset).
public struct PSAItem: Sendable, Hashable {
    public var id: String
    public var name: String
    public var isActive: Bool
    /// The PSA's own status name, when it has one.
    public var psaStatus: String?
    /// The PSA's configuration type name, when it has one.
    public var typeName: String?
    /// The notes field as listed, for PSAs whose adapter writes the reason there.
    public var notes: String?
    /// The company the PSA says the configuration belongs to; nothing is written to a
    /// configuration whose company is not the client being offboarded.
    public var companyID: String?
    /// The contract the PSA ties the configuration to, where the configuration carries it
    /// (Autotask `contractID`, HaloPSA `contract_id`), for the billing check.
    public var contractID: String?
    /// The contract's service that bills the configuration, where the PSA has such a tie (Autotask
    /// `contractServiceID`), for the billing check.
    public var contractServiceID: String?
    /// Open alerts the PSA counts on the configuration (Autotask `rmmOpenAlertCount`), for the alert check.
    public var openAlertCount: Int?
    /// The PSA's id of `psaStatus` (ConnectWise configuration status, HaloPSA `status_id`).
    public var statusID: String?
    /// The PSA's last-modified stamp, as it reports it (ConnectWise `_info.lastUpdated`, Autotask `lastModifiedTime`).
    public var lastModified: String?

    public init(
        id: String, name: String, isActive: Bool, psaStatus: String? = nil, typeName: String? = nil, notes: String? = nil,
        companyID: String? = nil, contractID: String? = nil, contractServiceID: String? = nil, openAlertCount: Int? = nil, statusID: String? = nil, lastModified: String? = nil
    ) {
        self.id = id
        self.name = name
        self.isActive = isActive
        self.psaStatus = psaStatus
        self.typeName = typeName
        self.notes = notes
        self.companyID = companyID
        self.contractID = contractID
        self.contractServiceID = contractServiceID
        self.openAlertCount = openAlertCount
        self.statusID = statusID
        self.lastModified = lastModified
    }
}

import Foundation

/// The port every PSA adapter implements. Methods throw `PSAError`.
public protocol PSAClient: Sendable {
    var kind: PSAKind { get }

    /// - Throws: `PSAError` with `.clientNotFound` when no company matches.
    func findCompany(_ reference: ClientReference) async throws(PSAError) -> PSACompany

    /// Every configuration of the company, over all pages. Inactive (archived) ones only when `includeArchived`.
    func listConfigurations(companyID: String, includeArchived: Bool) async throws(PSAError) -> [PSAItem]

    /// Sets one configuration inactive and returns it as the PSA now reports it. Re-applying is harmless.
    /// - Parameter note: a line for the configuration's notes field, on PSAs that have one
    ///   (`writesNotes`); appended once, in the same update, so a repeated update does not repeat it.
    func deactivate(_ configuration: PSAItem, note: ReasonNote?) async throws(PSAError) -> PSAItem

    /// Whether `deactivate(_:note:)` writes the note onto the configuration.
    var writesNotes: Bool { get }

    /// How many configurations `deactivate(batch:note:)` sends in one request; 1 where the PSA
    /// updates one at a time.
    var batchSize: Int { get }

    /// Sets up to `batchSize` configurations of one client inactive in as few requests as the PSA
    /// allows: one outcome per configuration, in order. A configuration the PSA refuses fails
    /// alone; the others are still written.
    func deactivate(batch: [PSAItem], note: ReasonNote?) async -> [Result<PSAItem, PSAError>]

    /// Puts one configuration back to the state it had before an offboarding (`previous`) and
    /// returns it as the PSA now reports it. Re-applying is harmless.
    /// - Parameter note: the restore line, appended once as a deactivation's is.
    func restore(_ restoration: PSARestoration, note: ReasonNote?) async throws(PSAError) -> PSAItem

    /// As `deactivate(batch:note:)`, for a restore: one outcome per configuration, in order.
    func restore(batch: [PSARestoration], note: ReasonNote?) async -> [Result<PSAItem, PSAError>]

    /// Every company whose status (or label) is one of `statuses`, and on ConnectWise every
    /// company whose status has `inactiveFlag` set, for the scheduled sweep.
    func listCompanies(withStatuses statuses: [String]) async throws(PSAError) -> [PSACompany]

    /// How many companies `activeConfigurationCounts(companyIDs:)` takes in one query; 1 where
    /// the PSA cannot ask for several companies' configurations at once.
    var sweepChunkSize: Int { get }

    /// Of these companies (at most `sweepChunkSize`), each one with active configurations and how
    /// many, over all pages of one query where the PSA allows it; a company with none is absent.
    func activeConfigurationCounts(companyIDs: [String]) async throws(PSAError) -> [String: Int]

    /// Every company with one of these types, for the scheduled sweep.
    func listCompanies(withTypes types: [String]) async throws(PSAError) -> [PSACompany]

    /// The company's contracts (agreements), over all pages, in effect or not.
    func listContracts(companyID: String) async throws(PSAError) -> [PSAContract]

    /// Contracts of any company that ended (or were cancelled) before `date`: the sweep's
    /// candidates for `contracts_ended`, each then checked with `listContracts(companyID:)`.
    func listContracts(endedBefore date: Date) async throws(PSAError) -> [PSAContract]

    /// Post-execution check: billing the PSA still ties to the client or to these (deactivated)
    /// configurations. Report only: nothing is cancelled.
    func billingStillActive(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSABillingTie]

    /// Post-execution check: open alerts and tickets tied to these configurations, or to the client
    /// where the PSA cannot tie them to one.
    func openAlerts(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSAOpenAlert]

    /// Company status names that mean inactive whatever they are called (ConnectWise's
    /// `inactiveFlag`), for the event filter; empty where the PSA has no such flag.
    func inactiveStatusNames() async throws(PSAError) -> [String]

    /// One cheap authenticated call, for readiness probes.
    func probe() async throws(PSAError)

    /// Whether `openAuditTicket(_:)` is configured (`audit.ticket`).
    var opensAuditTickets: Bool { get }

    /// Opens the audit ticket on the company, or finds the one an earlier attempt of the same work
    /// (same `eventID`) opened: one ticket per offboarding however often it is retried.
    func openAuditTicket(_ ticket: PSAAuditTicket) async throws(PSAError) -> PSAAuditTicketReceipt

    /// The pace the adapter learnt from the PSA; nil when it does not adapt.
    var pacing: PSAPacing? { get }
}

extension PSAClient {
    public func deactivate(_ configuration: PSAItem) async throws(PSAError) -> PSAItem {
        try await deactivate(configuration, note: nil)
    }

    public var batchSize: Int { 1 }

    public var pacing: PSAPacing? { nil }

    public var opensAuditTickets: Bool { false }

    public var sweepChunkSize: Int { 1 }

    /// One listing per company, for a PSA that cannot ask for several at once.
    public func activeConfigurationCounts(companyIDs: [String]) async throws(PSAError) -> [String: Int] {
        var counts: [String: Int] = [:]
        for id in companyIDs {
            let active = try await listConfigurations(companyID: id, includeArchived: false).filter(\.isActive).count
            if active > 0 { counts[id] = active }
        }
        return counts
    }

    public func openAuditTicket(_ ticket: PSAAuditTicket) async throws(PSAError) -> PSAAuditTicketReceipt {
        throw PSAError(code: .ticketNotCreated, message: "audit.ticket is not configured for \(kind)")
    }

    public func inactiveStatusNames() async throws(PSAError) -> [String] { [] }

    public func deactivate(batch: [PSAItem], note: ReasonNote?) async -> [Result<PSAItem, PSAError>] {
        await deactivateOneByOne(batch, note: note)
    }

    public func restore(batch: [PSARestoration], note: ReasonNote?) async -> [Result<PSAItem, PSAError>] {
        await restoreOneByOne(batch, note: note)
    }

    /// Each configuration with its own `restore(_:note:)`, in order.
    public func restoreOneByOne(_ batch: [PSARestoration], note: ReasonNote?) async -> [Result<PSAItem, PSAError>] {
        await Self.oneByOne(batch) { (restoration) async throws(PSAError) in try await restore(restoration, note: note) }
    }

    /// Each configuration with its own `deactivate(_:note:)`, in order: the batch of a PSA that
    /// takes one at a time, and of one configuration anywhere.
    public func deactivateOneByOne(_ batch: [PSAItem], note: ReasonNote?) async -> [Result<PSAItem, PSAError>] {
        await Self.oneByOne(batch) { (configuration) async throws(PSAError) in try await deactivate(configuration, note: note) }
    }

    private static func oneByOne<Item>(
        _ items: [Item], _ write: (Item) async throws(PSAError) -> PSAItem
    ) async -> [Result<PSAItem, PSAError>] {
        var outcomes: [Result<PSAItem, PSAError>] = []
        for item in items {
            do {
                outcomes.append(.success(try await write(item)))
            } catch {
                outcomes.append(.failure(error))
            }
        }
        return outcomes
    }
}

/// The line written into a configuration's notes when it is deactivated or restored.
public struct ReasonNote: Sendable, Hashable {
    public enum Change: Sendable, Hashable {
        case deactivated
        /// Put back by a restore of the offboarding with this event id.
        case restored(undoing: String)
    }

    public static let marker = "[psa-offboarder]"
    public var eventID: String
    public var change: Change
    public var line: String

    public init(reason: String?, eventID: String, date: String, change: Change = .deactivated) {
        self.eventID = eventID
        self.change = change
        let undoing: String =
            switch change {
            case .deactivated: ""
            case .restored(let original): " undoing event \(original)"
            }
        self.line = "\(Self.marker) \(date) \(change.verb) (event \(eventID))\(undoing)" + (reason.map { ": \($0)" } ?? "")
    }

    /// The notes with the line appended, or nil when this event's line is already there (an
    /// update repeated after a lost answer).
    public func appended(to notes: String?) -> String? {
        let existing = notes ?? ""
        if existing.contains("\(Self.marker)") && existing.contains("(event \(eventID))") { return nil }
        return existing.isEmpty ? line : existing + "\n" + line
    }
}

extension ReasonNote.Change {
    public var verb: String {
        switch self {
        case .deactivated: "deactivated"
        case .restored: "restored"
        }
    }
}
