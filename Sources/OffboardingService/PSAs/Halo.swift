import AsyncHTTPClient
import Logging
import OffboardingCore
import OffboardingHTTPAPI
import PSAHalo
import PSAHTTP

extension HaloClient.Configuration: PSAConfigurationBlock {
    public static var kind: PSAKind { .halopsa }
    public static var writesNotes: Bool { true }

    public func makeClient(httpClient: HTTPClient, logger: Logger) -> any PSAClient {
        HaloClient(configuration: self, httpClient: httpClient, logger: logger)
    }

    func webhook(from settings: OffboarderConfiguration.Webhooks) -> (any PSAWebhook)? {
        settings.haloCredentials.map { HaloWebhook.Settings(username: $0.username, password: $0.password) }
    }

    static func read(_ psa: ConfigurationReader, http: PSAHTTPTransport.Configuration) throws(ConfigurationError) -> Self {
        let baseURL = try psa.requiredString("base_url")
        try PSAModules.requirePSAURL(baseURL, key: psa.keyPath("base_url"))
        let halo = try psa.requiredSection("halopsa").allowing(["client_id", "client_secret", "tenant", "auth_url", "scope", "batch_size"])
        let authURL = try halo.string("auth_url") ?? (baseURL.hasSuffix("/") ? baseURL + "auth" : baseURL + "/auth")
        try PSAModules.requirePSAURL(authURL, key: halo.keyPath("auth_url"))
        var configuration = HaloClient.Configuration(
            baseURL: baseURL, authURL: authURL, clientID: try halo.requiredString("client_id"), clientSecret: try halo.requiredString("client_secret"),
            tenant: try halo.string("tenant"), http: http)
        configuration.scope = try halo.string("scope") ?? configuration.scope
        configuration.batchSize = try halo.int("batch_size", range: 1...HaloClient.Configuration.maxBatchSize) ?? configuration.batchSize
        try halo.finish()
        return configuration
    }

    mutating func readAuditTicket(_ section: ConfigurationReader) throws(ConfigurationError) {
        let halo = try section.allowing(["tickettype_id", "status_id"])
        auditTicket = .init(ticketTypeID: try halo.requiredRecordID("tickettype_id"), statusID: try halo.recordID("status_id"))
        try halo.finish()
    }

    static func readWebhooks(_ section: ConfigurationReader, into webhooks: inout OffboarderConfiguration.Webhooks) throws(ConfigurationError) {
        let halo = try section.allowing(["username", "password"])
        webhooks.haloCredentials = (try halo.requiredString("username"), try halo.requiredString("password"))
        try halo.finish()
    }
}

extension OffboarderConfiguration.PSA {
    public static func halopsa(_ configuration: HaloClient.Configuration) -> Self { Self(configuration) }
}
