import AsyncHTTPClient
import Logging
import OffboardingCore
import OffboardingHTTPAPI
import PSAConnectWise
import PSAHTTP

extension ConnectWiseClient.Configuration: PSAConfigurationBlock {
    public static var kind: PSAKind { .connectwise }
    public static var writesNotes: Bool { true }

    public func makeClient(httpClient: HTTPClient, logger: Logger) -> any PSAClient {
        ConnectWiseClient(configuration: self, httpClient: httpClient, logger: logger)
    }

    /// A callback names the login company it was registered under: another one's is refused.
    func webhook(from settings: OffboarderConfiguration.Webhooks) -> (any PSAWebhook)? {
        guard let hosts = settings.connectWiseKeyURLHosts else { return nil }
        var webhook = ConnectWiseWebhook.Settings(keyURLHosts: hosts, companyID: companyID)
        webhook.keyRefreshInterval = settings.connectWiseKeyRefreshInterval
        return webhook
    }

    static func read(_ psa: ConfigurationReader, http: PSAHTTPTransport.Configuration) throws(ConfigurationError) -> Self {
        let baseURL = try psa.requiredString("base_url")
        try PSAModules.requirePSAURL(baseURL, key: psa.keyPath("base_url"))
        let cw = try psa.requiredSection("connectwise").allowing(["company_id", "public_key", "private_key", "client_id", "inactive_status"])
        let configuration = ConnectWiseClient.Configuration(
            baseURL: baseURL, companyID: try cw.requiredString("company_id"), publicKey: try cw.requiredString("public_key"),
            privateKey: try cw.requiredString("private_key"), clientID: try cw.requiredString("client_id"), inactiveStatusName: try cw.string("inactive_status"),
            http: http)
        try cw.finish()
        return configuration
    }

    mutating func readAuditTicket(_ section: ConfigurationReader) throws(ConfigurationError) {
        let cw = try section.allowing(["board_id", "status_id"])
        auditTicket = .init(boardID: try cw.requiredRecordID("board_id"), statusID: try cw.recordID("status_id"))
        try cw.finish()
    }

    static func readWebhooks(_ section: ConfigurationReader, into webhooks: inout OffboarderConfiguration.Webhooks) throws(ConfigurationError) {
        let cw = try section.allowing(["key_url_hosts"])
        guard let hosts = try cw.stringList("key_url_hosts"), !hosts.isEmpty, !hosts.contains(where: \.isEmpty) else {
            throw ConfigurationError(key: cw.keyPath("key_url_hosts"), "must list at least one host")
        }
        webhooks.connectWiseKeyURLHosts = hosts.map { $0.lowercased() }
        try cw.finish()
    }
}

extension OffboarderConfiguration.PSA {
    public static func connectwise(_ configuration: ConnectWiseClient.Configuration) -> Self { Self(configuration) }
}
