import Foundation
import OffboardingCore
import OffboardingService
import PSAAutotask
import PSAConnectWise
import PSAHalo
import PSAHTTP
import PSASimulators

/// One place per PSA that pairs its simulator with the configuration pointing the real adapter at
/// it: used by `sandbox`, `demo` and the contract tests, so a new PSA is one more case here.
public enum PSASandbox {
    public enum Dataset: Sendable {
        /// The sample tenant of `demo` and `sandbox`.
        case sample
        /// No clients: tests add their own.
        case empty
        /// A JSON dataset in the simulator's format (`sandbox --data FILE`).
        case json(Data)
    }

    public struct Instance: Sendable {
        public var tenant: any SimulatedTenant
        /// The `psa` configuration for a simulator served at this root URL.
        public var configuration: @Sendable (_ serverURL: String) -> OffboarderConfiguration.PSA
        /// The configuration block a user would write, for `sandbox` to print.
        public var yaml: @Sendable (_ serverURL: String) -> String
    }

    /// The sandboxes answer as fast as they can and have no request quota: the PSAs' own pacing
    /// (Autotask's hour, HaloPSA's five minutes) would only slow demos and tests down.
    static let unpaced = PSAHTTPTransport.Configuration()

    public static func make(_ kind: PSAKind, dataset: Dataset = .sample) throws -> Instance {
        func decode<T: Decodable>(_ type: T.Type, sample: T, empty: T) throws -> T {
            switch dataset {
            case .sample: return sample
            case .empty: return empty
            case .json(let data): return try JSONDecoder().decode(type, from: data)
            }
        }
        switch kind {
        case .connectwise:
            let credentials = ConnectWiseSimulator.Credentials.sandbox
            let simulator = ConnectWiseSimulator(data: try decode(ConnectWiseDataset.self, sample: .sample(), empty: .empty()), credentials: credentials)
            return Instance(
                tenant: simulator,
                configuration: { url in
                    .connectwise(.init(
                        baseURL: url + ConnectWiseSimulator.apiPath, companyID: credentials.companyID, publicKey: credentials.publicKey,
                        privateKey: credentials.privateKey, clientID: credentials.clientID, http: unpaced))
                },
                yaml: { url in
                    """
                    psa:
                      kind: connectwise
                      base_url: "\(url)\(ConnectWiseSimulator.apiPath)"
                      connectwise: {company_id: \(credentials.companyID), public_key: \(credentials.publicKey), private_key: \(credentials.privateKey), client_id: \(credentials.clientID)}
                    """
                })
        case .autotask:
            let credentials = AutotaskSimulator.Credentials.sandbox
            let simulator = AutotaskSimulator(data: try decode(AutotaskDataset.self, sample: .sample(), empty: .empty()), credentials: credentials)
            // No base URL: the zone is discovered through zoneInformation, as on a fresh installation.
            return Instance(
                tenant: simulator,
                configuration: { url in
                    .autotask(.init(
                        baseURL: nil, zoneInformationURL: url + AutotaskSimulator.apiPath + "/zoneInformation",
                        apiIntegrationCode: credentials.apiIntegrationCode, username: credentials.username, secret: credentials.secret,
                        http: unpaced))
                },
                yaml: { url in
                    """
                    psa:
                      kind: autotask
                      autotask: {api_integration_code: \(credentials.apiIntegrationCode), username: \(credentials.username), secret: \(credentials.secret), zone_information_url: "\(url)\(AutotaskSimulator.apiPath)/zoneInformation"}
                    """
                })
        case .halopsa:
            let credentials = HaloSimulator.Credentials.sandbox
            let simulator = HaloSimulator(data: try decode(HaloDataset.self, sample: .sample(), empty: .empty()), credentials: credentials)
            return Instance(
                tenant: simulator,
                configuration: { url in
                    .halopsa(.init(
                        baseURL: url, authURL: url + HaloSimulator.authPath, clientID: credentials.clientID,
                        clientSecret: credentials.clientSecret, tenant: credentials.tenant, http: unpaced))
                },
                yaml: { url in
                    """
                    psa:
                      kind: halopsa
                      base_url: "\(url)"
                      halopsa: {client_id: \(credentials.clientID), client_secret: \(credentials.clientSecret), tenant: \(credentials.tenant), auth_url: "\(url)\(HaloSimulator.authPath)", scope: all}
                    """
                })
        }
    }
}
