import Foundation
import Logging
import OffboardingCore

/// The scheduled trigger: every client that the criteria call offboarded and that still has
/// active configurations gets an event (trigger `schedule`), so that a status change no event
/// reported, a contract that ran out, or an offboarding that failed, is caught up.
public struct Sweeper: Sendable {
    public struct Report: Sendable, Hashable {
        public var companiesChecked = 0
        public var eventIDs: [String] = []
        /// Companies whose configurations could not be listed; the next sweep tries them again.
        public var failures: [String] = []
        /// PSA requests the sweep made (every attempt and page), and how long it took.
        public var requests = 0
        public var duration: Duration = .zero
    }

    /// Queries of the sweep in flight at once; each still waits for the adapter's pacer and bounds.
    public static let maxConcurrentQueries = 4

    let psa: any PSAClient
    let criteria: OffboardingCriteria
    let logger: Logger

    public init(psa: any PSAClient, criteria: OffboardingCriteria, logger: Logger) {
        self.psa = psa
        self.criteria = criteria
        self.logger = logger
    }

    public init(psa: any PSAClient, offboardedStatuses: [String], logger: Logger) {
        self.init(psa: psa, criteria: OffboardingCriteria(statuses: offboardedStatuses), logger: logger)
    }

    /// - Parameters:
    ///   - slot: names this sweep in the event ids (`schedule-{slot}-{company}`), so that replicas
    ///     sweeping the same slot produce the same ids and the consumer runs each once.
    ///   - emit: writes one event; the sweep stops at the first failure to write.
    public func sweep(slot: String, now: Date = Date(), emit: (CompanyStatusChangedEvent) async throws -> Void) async throws -> Report {
        let tally = PSARequestTally()
        let started = ContinuousClock.now
        var report = try await PSARequestTally.$current.withValue(tally) { () async throws -> Report in
            var report = Report()
            let companies = try await offboardedCompanies(now: now, failures: &report.failures)
            report.companiesChecked = companies.count
            let (active, unread) = await activeCounts(of: companies.map(\.id))
            report.failures += unread
            for company in companies {
                guard let count = active[company.id] else { continue }
                let status = company.statusNames.first(where: criteria.isOffboarded(status:)) ?? company.status
                let event = CompanyStatusChangedEvent(
                    id: "schedule-\(slot)-\(company.id)", source: "psa-offboarder/schedule", time: Timestamp.string(now), psa: psa.kind,
                    companyID: company.id, companyName: company.name, status: status, trigger: .schedule)
                try await emit(event)
                report.eventIDs.append(event.id)
                logger.info("sweep found an offboarded client with active configurations", metadata: ["psa.company.id": "\(company.id)", "psa.configs.active": "\(count)"])
            }
            return report
        }
        report.requests = tally.requests
        report.duration = ContinuousClock.now - started
        return report
    }

    /// The active configurations of every company, asked for many companies a query (the PSA's
    /// chunk), a few queries at a time: the requests grow with the companies divided by the chunk and
    /// with the active configurations found, not with the companies. A chunk that fails is retried
    /// company by company, so that one bad company does not hide the others; what still fails is
    /// returned for the next sweep.
    func activeCounts(of ids: [String]) async -> (active: [String: Int], unread: [String]) {
        var active: [String: Int] = [:]
        var unread: [String] = []
        let psa = self.psa
        await ChunkedWork.run(count: ids.count, size: psa.sweepChunkSize, width: Self.maxConcurrentQueries) { range in
            let chunk = Array(ids[range])
            return await Result.of { () async throws(PSAError) in try await psa.activeConfigurationCounts(companyIDs: chunk) }
        } handle: { range, outcome in
            let chunk = Array(ids[range])
            switch outcome {
            case .success(let counts):
                active.merge(counts) { $1 }
            case .failure(let error) where chunk.count > 1 && !error.isRetriable:
                // Refused, not unreachable: perhaps one company's id; an outage would only repeat.
                logger.warning("sweep could not list a chunk of companies; asking one by one", metadata: ["sweep.chunk": "\(chunk.count)", "psa.error": "\(error)"])
                for id in chunk {
                    switch await Result.of({ () async throws(PSAError) in try await psa.activeConfigurationCounts(companyIDs: [id]) }) {
                    case .success(let counts): active.merge(counts) { $1 }
                    case .failure(let error):
                        logger.warning("sweep could not list configurations", metadata: ["psa.company.id": "\(id)", "psa.error": "\(error)"])
                        unread.append(id)
                    }
                }
            case .failure(let error):
                logger.warning("sweep could not list a chunk of companies", metadata: ["sweep.chunk": "\(chunk.count)", "psa.error": "\(error)"])
                unread += chunk
            }
        }
        return (active, unread.sorted { Self.order($0, $1) })
    }

    /// The companies the criteria call offboarded, by id: each criterion asks the PSA with its own
    /// server-side filter (status, type, contracts ended before the cut-off), and `match`
    /// combines the sets. The status and type queries are exact; a company found by an ended
    /// contract is checked against all its contracts (none may be in effect).
    func offboardedCompanies(now: Date, failures: inout [String]) async throws -> [PSACompany] {
        var sets: [[String: PSACompany?]] = []
        if criteria.configured.contains(.status) {
            sets.append(Dictionary(try await psa.listCompanies(withStatuses: criteria.statuses).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
        }
        if criteria.configured.contains(.companyTypes) {
            sets.append(Dictionary(try await psa.listCompanies(withTypes: criteria.companyTypes).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
        }
        var ended: Set<String> = []
        if let after = criteria.contractsEndedAfter {
            let candidates = Set(try await psa.listContracts(endedBefore: now.addingTimeInterval(-after.seconds)).map(\.companyID))
            for id in candidates.sorted() {
                do {
                    if OffboardingCriteria.contractsEnded(try await psa.listContracts(companyID: id), after: after, now: now) { ended.insert(id) }
                } catch {
                    logger.warning("sweep could not read a company's contracts", metadata: ["psa.company.id": "\(id)", "psa.error": "\(error)"])
                    failures.append(id)
                }
            }
            sets.append(Dictionary(uniqueKeysWithValues: ended.map { ($0, nil) }))
        }
        guard var combined = sets.first else { return [] }
        for set in sets.dropFirst() {
            switch criteria.match {
            case .any: combined.merge(set) { known, other in known ?? other }
            case .all: combined = combined.filter { set[$0.key] != nil }
            }
        }
        var companies: [PSACompany] = []
        for (id, known) in combined.sorted(by: { Self.order($0.key, $1.key) }) {
            if let known {
                companies.append(known)
                continue
            }
            // Found by its contracts alone: its name and status come from the company itself.
            do {
                companies.append(try await psa.findCompany(.id(id)))
            } catch {
                logger.warning("sweep could not read a company", metadata: ["psa.company.id": "\(id)", "psa.error": "\(error)"])
                failures.append(id)
            }
        }
        return companies
    }

    /// Numeric ids in numeric order, others after them by text.
    private static func order(_ a: String, _ b: String) -> Bool {
        switch (Int(a), Int(b)) {
        case (let x?, let y?): x < y
        case (.some, nil): true
        case (nil, .some): false
        case (nil, nil): a < b
        }
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
