import PSAHTTP

extension HaloClient {
    public struct Configuration: Sendable, Hashable {
        /// Hosted HaloPSA answers 429 past about 300 requests in a rolling five minutes.
        public static let defaultBatchSize = 50
        /// The largest batch accepted in the configuration; Halo documents no limit.
        public static let maxBatchSize = 500
        public static let defaultHTTP = PSAHTTPTransport.Configuration(
            rateLimit: .init(maxRequests: 300, per: .seconds(300)), maxInFlight: 8)
        /// `https://{instance}`; the API is under `/api`.
        public var baseURL: String
        /// The authorisation server, e.g. `https://{instance}/auth`; the token endpoint is `{authURL}/token`.
        public var authURL: String
        public var clientID: String
        public var clientSecret: String
        /// Sent as `?tenant=` to the token endpoint (Halo-hosted instances need it).
        public var tenant: String?
        /// Space-separated OAuth scopes.
        public var scope: String
        /// Assets per page.
        public var pageSize: Int
        /// Assets per `POST /api/Asset` (Halo takes an array); 1 updates one asset at a time,
        /// each checked to exist just before its write.
        public var batchSize: Int
        /// A batch is written only for assets a listing of the client at most this old still shows:
        /// Halo creates a record for an id it does not know.
        public var batchListingMaxAge: Duration
        /// A token is renewed this long before it expires.
        public var tokenRenewalMargin: Duration
        /// Timeouts and how calls are repeated after 429, 502, 503, 504 or a connection failure.
        public var http: PSAHTTPTransport.Configuration
        /// Where the audit ticket goes (`audit.ticket.halo`); nil opens none.
        public var auditTicket: AuditTicket?

        /// A ticket of a ticket type (which sets its workflow, fields and default status).
        public struct AuditTicket: Sendable, Hashable {
            public var ticketTypeID: Int
            /// The ticket's status; nil takes the ticket type's default.
            public var statusID: Int?

            public init(ticketTypeID: Int, statusID: Int? = nil) {
                self.ticketTypeID = ticketTypeID
                self.statusID = statusID
            }
        }

        public init(
            baseURL: String, authURL: String, clientID: String, clientSecret: String, tenant: String? = nil, scope: String = "all",
            pageSize: Int = 500, batchSize: Int = Self.defaultBatchSize, batchListingMaxAge: Duration = .seconds(5), tokenRenewalMargin: Duration = .seconds(60),
            http: PSAHTTPTransport.Configuration = Self.defaultHTTP, auditTicket: AuditTicket? = nil
        ) {
            self.auditTicket = auditTicket
            self.batchSize = min(max(batchSize, 1), Self.maxBatchSize)
            self.batchListingMaxAge = batchListingMaxAge
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.authURL = authURL.hasSuffix("/") ? String(authURL.dropLast()) : authURL
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.tenant = tenant
            self.scope = scope
            self.pageSize = min(max(pageSize, 1), 1000)
            self.tokenRenewalMargin = tokenRenewalMargin
            self.http = http
        }
    }
}
