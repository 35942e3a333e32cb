import OffboardingCore
import OffboardingService
import PSAAutotask
import PSAConnectWise
import PSAHalo
import Testing

/// `audit.ticket.<psa>`: where each PSA's audit ticket goes, read into its adapter's settings, with
/// the required place named when missing, ids range-checked, and another PSA's block refused.
struct AuditTicketConfigurationTests {
    static let connectwise = ConfigurationTests.contractExample
    static let autotask = connectwise
        .replacingOccurrences(of: "kind: connectwise", with: "kind: autotask")
        .replacingOccurrences(of: "  base_url: \"https://api-na.myconnectwise.net/v4_6_release/apis/3.0\"\n", with: "")
        .replacingOccurrences(
            of: #"connectwise: {company_id: acme, public_key: "${CW_PUBLIC_KEY}", private_key: "${CW_PRIVATE_KEY}", client_id: "${CW_CLIENT_ID}"}"#,
            with: #"autotask: {api_integration_code: c, username: u, secret: s}"#)
    static let halo = connectwise
        .replacingOccurrences(of: "kind: connectwise", with: "kind: halopsa")
        .replacingOccurrences(of: "https://api-na.myconnectwise.net/v4_6_release/apis/3.0", with: "https://acme.halopsa.com")
        .replacingOccurrences(
            of: #"connectwise: {company_id: acme, public_key: "${CW_PUBLIC_KEY}", private_key: "${CW_PRIVATE_KEY}", client_id: "${CW_CLIENT_ID}"}"#,
            with: #"halopsa: {client_id: c, client_secret: s, auth_url: "https://acme.halopsa.com/auth"}"#)

    func parse(_ base: String, _ audit: String) throws -> OffboarderConfiguration {
        try OffboarderConfiguration.parse(yaml: base + "\naudit:\n  ticket:\n" + audit, environment: ConfigurationTests.environment)
    }

    @Test func eachPSAReadsItsOwnPlace() throws {
        let cw = try parse(Self.connectwise, "    connectwise: {board_id: 7, status_id: 21}").psa.settings(as: ConnectWiseClient.Configuration.self)
        #expect(cw?.auditTicket == .init(boardID: 7, statusID: 21))
        let at = try parse(Self.autotask, "    autotask: {queue_id: 8, priority: 3, due_after: 2h}").psa.settings(as: AutotaskClient.Configuration.self)
        #expect(at?.auditTicket == .init(queueID: 8, status: 1, priority: 3, dueAfter: .seconds(7200)))
        let halo = try parse(Self.halo, "    halopsa: {tickettype_id: 21}").psa.settings(as: HaloClient.Configuration.self)
        #expect(halo?.auditTicket == .init(ticketTypeID: 21, statusID: nil))
        #expect(try OffboarderConfiguration.parse(yaml: Self.connectwise, environment: ConfigurationTests.environment).psa.settings(as: ConnectWiseClient.Configuration.self)?.auditTicket == nil)
    }

    @Test(arguments: [
        (connectwise, "    connectwise: {status_id: 21}", "audit.ticket.connectwise.board_id: is required"),
        (autotask, "    autotask: {priority: 2}", "audit.ticket.autotask.queue_id: is required"),
        (halo, "    halopsa: {status_id: 1}", "audit.ticket.halopsa.tickettype_id: is required"),
        (connectwise, "    connectwise: {board_id: 0}", "audit.ticket.connectwise.board_id"),
        (connectwise, "    connectwise: {board_id: 99999999999}", "audit.ticket.connectwise.board_id"),
        (connectwise, "    connectwise: {board_id: 7, queue_id: 8}", "queue_id"),
        (connectwise, "    autotask: {queue_id: 8}", "audit.ticket.autotask: does not go with psa.kind connectwise"),
    ])
    func mistakesAreRefusedNamingTheirKey(base: String, audit: String, expected: String) {
        #expect { _ = try parse(base, audit) } throws: { "\($0)".contains(expected) }
    }
}
