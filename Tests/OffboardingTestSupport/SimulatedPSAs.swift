import OffboardingCore
import OffboardingService
import PSAAutotask
import PSAConnectWise
import PSAHalo
import PSASimulators

/// One line per PSA: its simulator and the configuration that points its adapter at a running
/// simulator. The contract scenarios run for every case here.
public enum SimulatedPSAs {
    public static func make(_ kind: PSAKind) -> (tenant: any SimulatedTenant, configuration: @Sendable (_ serverURL: String) -> OffboarderConfiguration.PSA) {
        switch kind {
        case .connectwise:
            let credentials = ConnectWiseSimulator.Credentials.sandbox
            return (ConnectWiseSimulator(data: .empty()), { url in
                .connectwise(.init(
                    baseURL: url + ConnectWiseSimulator.apiPath, companyID: credentials.companyID, publicKey: credentials.publicKey,
                    privateKey: credentials.privateKey, clientID: credentials.clientID))
            })
        case .autotask:
            let credentials = AutotaskSimulator.Credentials.sandbox
            // No base URL: the zone is discovered through zoneInformation, as on a fresh installation.
            return (AutotaskSimulator(data: .empty()), { url in
                .autotask(.init(
                    baseURL: nil, zoneInformationURL: url + AutotaskSimulator.apiPath + "/zoneInformation",
                    apiIntegrationCode: credentials.apiIntegrationCode, username: credentials.username, secret: credentials.secret))
            })
        case .halopsa:
            let credentials = HaloSimulator.Credentials.sandbox
            return (HaloSimulator(data: .empty()), { url in
                .halopsa(.init(
                    baseURL: url, authURL: url + HaloSimulator.authPath, clientID: credentials.clientID, clientSecret: credentials.clientSecret,
                    tenant: credentials.tenant))
            })
        }
    }
}
