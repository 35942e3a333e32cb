import AsyncHTTPClient
import Logging
import OffboardingCore
import OffboardingHTTPAPI
import PSAAutotask
import PSAConnectWise
import PSAHalo
import PSAHTTP

/// One PSA as the service knows it: its configuration block (the adapter's own configuration
/// type conforms), how its client is made and what its webhook ingress needs. A new PSA adds an
/// adapter target, a conformance in a file of its own here, and one entry in `PSAModules.all`;
/// nothing else in the service switches over PSAs.
public protocol PSAModule: Sendable {
    static var kind: PSAKind { get }
    /// The PSA's own pacing, before the file's `retry.*` and `rate_limit.*` apply.
    static var defaultHTTP: PSAHTTPTransport.Configuration { get }
    /// Whether its configurations have a notes field the service writes the reason to.
    static var writesNotes: Bool { get }
    var http: PSAHTTPTransport.Configuration { get set }
    func makeClient(httpClient: HTTPClient, logger: Logger) -> any PSAClient
}

/// How a PSA's blocks of the configuration file are read.
protocol PSAConfigurationBlock: PSAModule {
    /// Reads `psa.base_url` and `psa.<kind>`, with the pacing already read from `retry.*` and `rate_limit.*`.
    static func read(_ psa: ConfigurationReader, http: PSAHTTPTransport.Configuration) throws(ConfigurationError) -> Self
    /// Reads `webhooks.<kind>`.
    static func readWebhooks(_ section: ConfigurationReader, into webhooks: inout OffboarderConfiguration.Webhooks) throws(ConfigurationError)
    /// The PSA's webhook ingress as the file configures it; nil when it is off.
    func webhook(from settings: OffboarderConfiguration.Webhooks) -> (any PSAWebhook)?
    /// Reads `audit.ticket.<kind>`: where the PSA's audit ticket goes.
    mutating func readAuditTicket(_ section: ConfigurationReader) throws(ConfigurationError)
}

extension ConfigurationReader {
    /// A PSA record id the file names (a board, queue, type or status).
    func recordID(_ key: String) throws(ConfigurationError) -> Int? {
        try int(key, range: 1...Int(Int32.max))
    }

    func requiredRecordID(_ key: String) throws(ConfigurationError) -> Int {
        guard let value = try recordID(key) else { throw ConfigurationError(key: keyPath(key), "is required") }
        return value
    }
}

/// Every PSA the service speaks.
enum PSAModules {
    static let all: [any PSAConfigurationBlock.Type] = [
        ConnectWiseClient.Configuration.self, AutotaskClient.Configuration.self, HaloClient.Configuration.self,
    ]

    static func module(for kind: PSAKind) -> (any PSAConfigurationBlock.Type)? {
        all.first { $0.kind == kind }
    }

    /// PSA credentials go to this URL: https, or http to a loopback host only.
    static func requirePSAURL(_ text: String, key: String) throws(ConfigurationError) {
        if let why = PSAOrigin.refusal(of: text) {
            throw ConfigurationError(key: key, "\(why), not \"\(text)\"")
        }
    }
}

extension OffboarderConfiguration {
    /// The configured PSA: its module's settings.
    public struct PSA: Sendable {
        public var settings: any PSAModule

        public init(_ settings: any PSAModule) {
            self.settings = settings
        }

        public var kind: PSAKind { type(of: settings).kind }

        /// The PSA's HTTP settings: pacing, retries, the rate limit.
        public var http: PSAHTTPTransport.Configuration {
            get { settings.http }
            set { settings.http = newValue }
        }

        /// The settings as this PSA's own configuration type; nil for another PSA.
        public func settings<Settings: PSAModule>(as type: Settings.Type) -> Settings? {
            settings as? Settings
        }

        public func makeClient(httpClient: HTTPClient, logger: Logger) -> any PSAClient {
            settings.makeClient(httpClient: httpClient, logger: logger)
        }

        /// The PSA's webhook ingress as the file configures it; nil when it is off.
        func webhook(from webhooks: OffboarderConfiguration.Webhooks) -> (any PSAWebhook)? {
            (settings as? any PSAConfigurationBlock)?.webhook(from: webhooks)
        }
    }
}
