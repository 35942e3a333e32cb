import Logging

extension Offboarder {
    /// What reading the configurations back after the writes showed.
    struct Confirmation {
        /// Listed inactive.
        var confirmed: Set<String> = []
        /// The PSA's last-modified stamp of each confirmed one, as the read-back showed it.
        var stamps: [String: String] = [:]
        /// Still listed active after a second write: reported failed and retried later.
        var stillActive: [PSAItem] = []
        /// No longer listed for the client at all (deleted or moved since): reported, not written again.
        var unlisted: [PSAItem] = []
        /// The listing failed: these could not be confirmed either way.
        var unread: [PSAItem] = []
        var listingError: PSAError?
        /// Writes whose answer never came (a timeout, a gateway error, a batch failing halfway)
        /// that the listing shows inactive, as listed: they landed.
        var landed: [String: PSAItem] = [:]
    }

    /// Re-lists the client (one paged listing) and checks that every configuration this run reports
    /// deactivated is inactive in the PSA: an accepted write is not proof (Halo's array POST, a
    /// write lost behind a gateway). One that is still active is written once more and read back
    /// again; what stays active is the caller's to report. The same listing tells which of the
    /// `unanswered` writes landed, so that the result says what the PSA holds, not what it answered.
    func confirmInactive(
        _ written: [PSAItem], unanswered: [PSAItem], of company: PSACompany, note: ReasonNote?, logger: Logger
    ) async -> Confirmation {
        var confirmation = Confirmation()
        var pending = written
        for round in 1...2 {
            let listed: [String: PSAItem]
            do {
                listed = try await self.listed(ofClient: company.id)
            } catch {
                logger.warning("the configurations could not be read back", metadata: ["psa.error": "\(error)"])
                confirmation.unread = pending
                confirmation.listingError = error
                return confirmation
            }
            progress(.call)
            if round == 1 {
                for config in unanswered {
                    if let found = listed[config.id], !found.isActive {
                        confirmation.landed[config.id] = found
                        confirmation.stamps[config.id] = found.lastModified
                    }
                }
            }
            var active: [PSAItem] = []
            for config in pending {
                switch listed[config.id]?.isActive {
                case false?:
                    confirmation.confirmed.insert(config.id)
                    confirmation.stamps[config.id] = listed[config.id]?.lastModified
                case true?: active.append(config)
                case nil: confirmation.unlisted.append(config)
                }
            }
            guard !active.isEmpty else { return confirmation }
            guard round == 1 else {
                confirmation.stillActive = active
                return confirmation
            }
            logger.warning("the PSA still lists written configurations active; writing them once more", metadata: ["psa.config.ids": "\(active.map(\.id))"])
            pending = []
            for (config, outcome) in await deactivateAll(active, note: note, logger: logger) {
                if case .failure = outcome { confirmation.stillActive.append(config) } else { pending.append(config) }
            }
            if pending.isEmpty { return confirmation }
        }
        return confirmation
    }

    /// The client's configurations as the PSA lists them now (archived ones too), by id; only those
    /// the PSA says are the client's. What a deactivation and a restore read back.
    func listed(ofClient clientID: String) async throws(PSAError) -> [String: PSAItem] {
        Dictionary(
            try await psa.listConfigurations(companyID: clientID, includeArchived: true).filter { $0.companyID == clientID }.map { ($0.id, $0) },
            uniquingKeysWith: { first, _ in first })
    }
}
