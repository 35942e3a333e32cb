import OffboardingCore
import OffboardingService
import PSAHalo
import PSASimulators

enum HaloSandbox: SandboxedPSA {
    static var kind: PSAKind { .halopsa }

    static func make(dataset: PSASandbox.Dataset) throws -> PSASandbox.Instance {
        let credentials = HaloSimulator.Credentials.sandbox
        let simulator = HaloSimulator(data: try dataset.decode(HaloDataset.self, sample: .sample(), empty: .empty()), credentials: credentials)
        return PSASandbox.Instance(
            tenant: simulator,
            configuration: { url in
                .halopsa(
                    .init(
                        baseURL: url, authURL: url + HaloSimulator.authPath, clientID: credentials.clientID, clientSecret: credentials.clientSecret,
                        tenant: credentials.tenant, http: PSASandbox.unpaced))
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

    static func sampleEvents(_ event: Demo.EventMaker) -> [Demo.SampleEvent] {
        [
            .init(event: event("halo-1", "12", "Example Client", "Inactive", .init(includeArchived: true, reason: "Contract ended")),
                  what: "offboard Example Client (archived assets listed too)"),
            .init(event: event("halo-2", "13", "Adventure Works", "Inactive", .init()), what: "stale event: Adventure Works is active in HaloPSA"),
        ]
    }
}
