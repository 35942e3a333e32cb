import Foundation
import Logging
import OffboardingCore

/// The scheduled trigger: every client whose PSA status is an offboarded one and that still has
/// active configurations gets an event (trigger `schedule`), so that a status change no event
/// reported, or an offboarding that failed, is caught up.
public struct Sweeper: Sendable {
    public struct Report: Sendable, Hashable {
        public var companiesChecked = 0
        public var eventIDs: [String] = []
        /// Companies whose configurations could not be listed; the next sweep tries them again.
        public var failures: [String] = []
    }

    let psa: any PSAClient
    let offboardedStatuses: [String]
    let logger: Logger

    public init(psa: any PSAClient, offboardedStatuses: [String], logger: Logger) {
        self.psa = psa
        self.offboardedStatuses = offboardedStatuses
        self.logger = logger
    }

    /// - Parameters:
    ///   - slot: names this sweep in the event ids (`schedule-{slot}-{company}`), so that replicas
    ///     sweeping the same slot produce the same ids and the consumer runs each once.
    ///   - emit: writes one event; the sweep stops at the first failure to write.
    public func sweep(slot: String, emit: (CompanyStatusChangedEvent) async throws -> Void) async throws -> Report {
        let criteria = OffboardingOptions(offboardedStatuses: offboardedStatuses)
        var report = Report()
        let companies = try await psa.listCompanies(withStatuses: offboardedStatuses)
        for company in companies {
            guard let status = company.statusNames.first(where: criteria.isOffboarded(status:)) else { continue }
            report.companiesChecked += 1
            let active: Int
            do {
                active = try await psa.listConfigurations(companyID: company.id, includeArchived: false).filter(\.isActive).count
            } catch {
                logger.warning("sweep could not list configurations", metadata: ["psa.company.id": "\(company.id)", "psa.error": "\(error)"])
                report.failures.append(company.id)
                continue
            }
            guard active > 0 else { continue }
            let event = CompanyStatusChangedEvent(
                id: "schedule-\(slot)-\(company.id)", source: "psa-offboarder/schedule", time: Timestamp.string(Date()), psa: psa.kind,
                companyID: company.id, companyName: company.name, status: status, trigger: .schedule)
            try await emit(event)
            report.eventIDs.append(event.id)
            logger.info("sweep found an offboarded client with active configurations", metadata: ["psa.company.id": "\(company.id)", "psa.configs.active": "\(active)"])
        }
        return report
    }

    /// A sweep slot's name: the minute it is for, in UTC.
    public static func slot(for date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmm'Z'"
        return formatter.string(from: date)
    }
}
