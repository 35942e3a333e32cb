import Logging

/// The seed's last post-execution step, done by the service: is billing or an alert still tied to
/// what was just deactivated? Each finding is a warning naming the PSA record and the
/// configurations; nothing is cancelled, and a check that cannot be made does not undo the run.
extension Offboarder {
    /// The checks' warnings; both checks run side by side (and beside the read-back).
    func checkAfterwards(_ deactivated: [PSAItem], of company: PSACompany, logger: Logger) async -> [OffboardingResult.Warning] {
        async let billing = Result.of { () async throws(PSAError) in try await psa.billingStillActive(companyID: company.id, configurations: deactivated) }
        async let alerts = Result.of { () async throws(PSAError) in try await psa.openAlerts(companyID: company.id, configurations: deactivated) }
        var warnings: [OffboardingResult.Warning] = []
        switch await billing {
        case .success(let ties):
            for tie in ties {
                let tied = tie.configurationIDs.isEmpty ? "the client" : "configurations \(tie.configurationIDs)"
                warnings.append(
                    .init(
                        code: .billingStillActive,
                        message: "\(tie.kind) \(tie.id) \"\(tie.name)\" is still in effect in \(psa.kind) for \(tied)" + (tie.detail.map { " (\($0))" } ?? "")
                            + "; it was not changed",
                        psaRecord: .init(kind: tie.kind, id: tie.id, name: tie.name), configIDs: tie.configurationIDs))
            }
        case .failure(let error):
            logger.warning("billing check failed", metadata: ["psa.error": "\(error)"])
            warnings.append(.init(code: .checkFailed, message: "billing still tied to the client could not be checked: \(error.description)"))
        }
        switch await alerts {
        case .success(let open):
            for alert in open {
                let tied = alert.configurationIDs.isEmpty ? "the client" : "configurations \(alert.configurationIDs)"
                warnings.append(
                    .init(
                        code: .alertsStillOpen, message: "\(alert.kind) \(alert.id) is open in \(psa.kind) for \(tied): \(alert.summary)",
                        psaRecord: .init(kind: alert.kind, id: alert.id, name: alert.summary), configIDs: alert.configurationIDs))
            }
        case .failure(let error):
            logger.warning("alert check failed", metadata: ["psa.error": "\(error)"])
            warnings.append(.init(code: .checkFailed, message: "open alerts of the client could not be checked: \(error.description)"))
        }
        progress(.call)
        return warnings
    }
}
