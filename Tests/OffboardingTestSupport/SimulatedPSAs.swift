import OffboardingCore
import OffboardingSandbox
import OffboardingService
import PSASimulators

/// The contract scenarios run for every PSA that `PSASandbox` knows, each with an empty tenant.
public enum SimulatedPSAs {
    public static func make(_ kind: PSAKind) -> (tenant: any SimulatedTenant, configuration: @Sendable (_ serverURL: String) -> OffboarderConfiguration.PSA) {
        let instance = try! PSASandbox.make(kind, dataset: .empty)
        return (instance.tenant, instance.configuration)
    }
}
