import OffboardingCore
import OffboardingService
import PSAAutotask
import PSASimulators

enum AutotaskSandbox: SandboxedPSA {
    static var kind: PSAKind { .autotask }

    /// No base URL: the zone is discovered through zoneInformation, as on a fresh installation.
    static func make(dataset: PSASandbox.Dataset) throws -> PSASandbox.Instance {
        let credentials = AutotaskSimulator.Credentials.sandbox
        let simulator = AutotaskSimulator(data: try dataset.decode(AutotaskDataset.self, sample: .sample(), empty: .empty()), credentials: credentials)
        return PSASandbox.Instance(
            tenant: simulator,
            configuration: { url in
                .autotask(
                    .init(
                        baseURL: nil, zoneInformationURL: url + AutotaskSimulator.apiPath + "/zoneInformation",
                        apiIntegrationCode: credentials.apiIntegrationCode, username: credentials.username, secret: credentials.secret,
                        http: PSASandbox.unpaced))
            },
            yaml: { url in
                """
                psa:
                  kind: autotask
                  autotask: {api_integration_code: \(credentials.apiIntegrationCode), username: \(credentials.username), secret: \(credentials.secret), zone_information_url: "\(url)\(AutotaskSimulator.apiPath)/zoneInformation"}
                """
            })
    }

    static func sampleEvents(_ event: Demo.EventMaker) -> [Demo.SampleEvent] {
        [
            .init(event: event("at-1", "29683001", "Example Client", "Inactive", .init(reason: "Contract ended")),
                  what: "offboard Example Client (Autotask: company set inactive)"),
            .init(event: event("at-2", "29683002", "Tailspin Toys", "Cancelation", .init(dryRun: true)),
                  what: "dry run for Tailspin Toys, offboarded by its company type Cancelation"),
        ]
    }

    static var sampleCompanyTypes: [String] { ["Cancelation"] }
}
