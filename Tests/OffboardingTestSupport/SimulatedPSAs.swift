import OffboardingCore
import OffboardingSandbox
import OffboardingService
import PSAAutotask
import PSAConnectWise
import PSAHalo
import PSASimulators

/// The contract scenarios run for every PSA that `PSASandbox` knows, each with an empty tenant.
public enum SimulatedPSAs {
    public static func make(_ kind: PSAKind) -> (tenant: any SimulatedTenant, configuration: @Sendable (_ serverURL: String) -> OffboarderConfiguration.PSA) {
        let instance = try! PSASandbox.make(kind, dataset: .empty)
        return (instance.tenant, instance.configuration)
    }

    /// Where each simulator keeps offboarding records: a ConnectWise board, an Autotask queue, a
    /// HaloPSA ticket type.
    public static func auditPlace(_ kind: PSAKind) -> Int {
        switch kind {
        case .connectwise: 7
        case .autotask: 8
        case .halopsa: 21
        }
    }

    /// The PSA opening audit tickets in `place` (the simulator's offboarding place when nil).
    public static func openingAuditTickets(_ psa: OffboarderConfiguration.PSA, in place: Int? = nil) -> OffboarderConfiguration.PSA {
        let place = place ?? auditPlace(psa.kind)
        if var settings = psa.settings(as: ConnectWiseClient.Configuration.self) {
            settings.auditTicket = .init(boardID: place)
            return .connectwise(settings)
        }
        if var settings = psa.settings(as: AutotaskClient.Configuration.self) {
            settings.auditTicket = .init(queueID: place)
            return .autotask(settings)
        }
        if var settings = psa.settings(as: HaloClient.Configuration.self) {
            settings.auditTicket = .init(ticketTypeID: place)
            return .halopsa(settings)
        }
        return psa
    }
}
