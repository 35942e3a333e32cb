import PSAHTTP

extension AutotaskClient {
    public struct Configuration: Sendable, Hashable {
        /// Autotask allows 10,000 requests an hour per database (shared by all its integrations),
        /// and past half of it adds about half a second to every call: read that as "slow down".
        public static let defaultHTTP = PSAHTTPTransport.Configuration(
            rateLimit: .init(maxRequests: 10_000, per: .seconds(3600)), adaptive: .init(latencySignal: .milliseconds(400)))
        /// The zone's API root, `https://webservicesN.autotask.net/atservicesrest/v1.0`; nil finds it
        /// through `zoneInformationURL`.
        public var baseURL: String?
        /// Where the zone of `username` is looked up when `baseURL` is nil.
        public var zoneInformationURL: String
        /// The API tracking identifier (`ApiIntegrationCode` header).
        public var apiIntegrationCode: String
        /// The API-only user (`UserName` header).
        public var username: String
        public var secret: String
        /// Records per query page, at most 500 (Autotask's limit).
        public var pageSize: Int
        /// Requests in flight per endpoint; Autotask allows 3 per integration code.
        public var threadsPerEndpoint: Int
        /// Timeouts and how calls are repeated after 429, 502, 503, 504 or a connection failure.
        public var http: PSAHTTPTransport.Configuration
        /// Where the audit ticket goes (`audit.ticket.autotask`); nil opens none.
        public var auditTicket: AuditTicket?

        /// A ticket in a queue. Autotask requires a status, a priority, and a due date and time
        /// (unless the ticket category supplies one); the picklist values are the tenant's own.
        public struct AuditTicket: Sendable, Hashable {
            public var queueID: Int
            /// Picklist value; Autotask's system value 1 is New.
            public var status: Int
            /// Picklist value; Autotask's system value 2 is Medium.
            public var priority: Int
            /// How long after opening the ticket is due.
            public var dueAfter: Duration

            public static let defaultStatus = 1
            public static let defaultPriority = 2
            public static let defaultDueAfter: Duration = .seconds(24 * 3600)

            public init(queueID: Int, status: Int = Self.defaultStatus, priority: Int = Self.defaultPriority, dueAfter: Duration = Self.defaultDueAfter) {
                self.queueID = queueID
                self.status = status
                self.priority = priority
                self.dueAfter = dueAfter
            }
        }

        public init(
            baseURL: String?, zoneInformationURL: String = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation",
            apiIntegrationCode: String, username: String, secret: String, pageSize: Int = 500, threadsPerEndpoint: Int = 3, http: PSAHTTPTransport.Configuration = Self.defaultHTTP,
            auditTicket: AuditTicket? = nil
        ) {
            self.auditTicket = auditTicket
            self.baseURL = baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            self.zoneInformationURL = zoneInformationURL
            self.apiIntegrationCode = apiIntegrationCode
            self.username = username
            self.secret = secret
            self.pageSize = min(max(pageSize, 1), 500)
            self.threadsPerEndpoint = max(1, threadsPerEndpoint)
            self.http = http
        }
    }
}
