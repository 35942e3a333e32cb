import AsyncHTTPClient
import Logging
import OffboardingCore
import OffboardingHTTPAPI
import PSAAutotask
import PSAHTTP

extension AutotaskClient.Configuration: PSAConfigurationBlock {
    public static var kind: PSAKind { .autotask }
    public static var writesNotes: Bool { true }

    public func makeClient(httpClient: HTTPClient, logger: Logger) -> any PSAClient {
        AutotaskClient(configuration: self, httpClient: httpClient, logger: logger)
    }

    func webhook(from settings: OffboarderConfiguration.Webhooks) -> (any PSAWebhook)? {
        settings.autotaskSecret.map { AutotaskWebhook.Settings(secret: $0) }
    }

    /// No `base_url` needed: the zone is discovered through `zoneInformation`.
    static func read(_ psa: ConfigurationReader, http: PSAHTTPTransport.Configuration) throws(ConfigurationError) -> Self {
        let baseURL = try psa.string("base_url")
        if let baseURL { try PSAModules.requirePSAURL(baseURL, key: psa.keyPath("base_url")) }
        let at = try psa.requiredSection("autotask").allowing(["api_integration_code", "username", "secret", "zone_information_url"])
        var configuration = AutotaskClient.Configuration(
            baseURL: baseURL, apiIntegrationCode: try at.requiredString("api_integration_code"), username: try at.requiredString("username"),
            secret: try at.requiredString("secret"), http: http)
        if let zone = try at.string("zone_information_url") {
            try PSAModules.requirePSAURL(zone, key: at.keyPath("zone_information_url"))
            configuration.zoneInformationURL = zone
        }
        try at.finish()
        return configuration
    }

    mutating func readAuditTicket(_ section: ConfigurationReader) throws(ConfigurationError) {
        let at = try section.allowing(["queue_id", "status", "priority", "due_after"])
        typealias Ticket = AutotaskClient.Configuration.AuditTicket
        auditTicket = .init(
            queueID: try at.requiredRecordID("queue_id"), status: try at.recordID("status") ?? Ticket.defaultStatus,
            priority: try at.recordID("priority") ?? Ticket.defaultPriority,
            dueAfter: try at.duration("due_after", range: .zero...Duration.seconds(365 * 86_400)) ?? Ticket.defaultDueAfter)
        try at.finish()
    }

    static func readWebhooks(_ section: ConfigurationReader, into webhooks: inout OffboarderConfiguration.Webhooks) throws(ConfigurationError) {
        let at = try section.allowing(["secret"])
        webhooks.autotaskSecret = try at.requiredString("secret")
        try at.finish()
    }
}

extension OffboarderConfiguration.PSA {
    public static func autotask(_ configuration: AutotaskClient.Configuration) -> Self { Self(configuration) }
}
