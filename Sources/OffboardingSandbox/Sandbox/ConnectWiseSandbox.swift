import OffboardingCore
import OffboardingService
import PSAConnectWise
import PSASimulators

enum ConnectWiseSandbox: SandboxedPSA {
    static var kind: PSAKind { .connectwise }

    static func make(dataset: PSASandbox.Dataset) throws -> PSASandbox.Instance {
        let credentials = ConnectWiseSimulator.Credentials.sandbox
        let simulator = ConnectWiseSimulator(data: try dataset.decode(ConnectWiseDataset.self, sample: .sample(), empty: .empty()), credentials: credentials)
        return PSASandbox.Instance(
            tenant: simulator,
            configuration: { url in
                .connectwise(
                    .init(
                        baseURL: url + ConnectWiseSimulator.apiPath, companyID: credentials.companyID, publicKey: credentials.publicKey,
                        privateKey: credentials.privateKey, clientID: credentials.clientID, http: PSASandbox.unpaced))
            },
            yaml: { url in
                """
                psa:
                  kind: connectwise
                  base_url: "\(url)\(ConnectWiseSimulator.apiPath)"
                  connectwise: {company_id: \(credentials.companyID), public_key: \(credentials.publicKey), private_key: \(credentials.privateKey), client_id: \(credentials.clientID)}
                """
            })
    }

    static func sampleEvents(_ event: Demo.EventMaker) -> [Demo.SampleEvent] {
        [
            .init(event: event("cw-1", "12345", "Example Client", "Offboarded", .init(includeArchived: true, reason: "Contract ended")),
                  what: "offboard Example Client (archived configs listed too)"),
            .init(event: event("cw-2", "23456", "Northwind Traders", "Offboarded", .init(dryRun: true, reason: "Preview")),
                  binary: true, what: "dry run for Northwind Traders (binary-mode event)"),
            .init(event: event("cw-3", "34567", "Contoso Dental", "Active", .init()), what: "Contoso Dental became Active: filtered, no result"),
            .init(event: event("cw-4", "34567", "Contoso Dental", "Offboarded", .init()), what: "stale event: Contoso Dental is Active in the PSA"),
            .init(event: event("cw-5", "99999", nil, "Offboarded", .init()), what: "unknown client 99999"),
        ]
    }
}
