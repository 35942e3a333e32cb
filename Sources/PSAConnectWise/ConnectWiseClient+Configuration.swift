import PSAHTTP

extension ConnectWiseClient {
    public struct Configuration: Sendable, Hashable {
        /// ConnectWise publishes no request rate, only 429 with `Retry-After`: pace by concurrency.
        public static let defaultHTTP = PSAHTTPTransport.Configuration(maxInFlight: 16)
        /// `https://{api-host}/{codebase}/apis/3.0`, e.g. `https://api-na.myconnectwise.net/v4_6_release/apis/3.0`.
        public var baseURL: String
        /// The login company id (the part before `+` in the Basic username).
        public var companyID: String
        public var publicKey: String
        public var privateKey: String
        /// The `clientId` GUID from developer.connectwise.com.
        public var clientID: String
        /// The configuration status to set; when nil the first status with `closedFlag` true is used.
        public var inactiveStatusName: String?
        /// Records per page, at most 1,000 (ConnectWise's hard limit).
        public var pageSize: Int
        /// Timeouts and how calls are repeated after 429, 502, 503, 504 or a connection failure.
        public var http: PSAHTTPTransport.Configuration
        /// Where the audit ticket goes (`audit.ticket.connectwise`); nil opens none.
        public var auditTicket: AuditTicket?

        /// A service ticket on a board; ConnectWise requires a status to be one of its board's.
        public struct AuditTicket: Sendable, Hashable {
            public var boardID: Int
            /// The ticket's status; nil takes the board's default.
            public var statusID: Int?

            public init(boardID: Int, statusID: Int? = nil) {
                self.boardID = boardID
                self.statusID = statusID
            }
        }

        public init(
            baseURL: String, companyID: String, publicKey: String, privateKey: String, clientID: String,
            inactiveStatusName: String? = nil, pageSize: Int = 1000, http: PSAHTTPTransport.Configuration = Self.defaultHTTP,
            auditTicket: AuditTicket? = nil
        ) {
            self.auditTicket = auditTicket
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.companyID = companyID
            self.publicKey = publicKey
            self.privateKey = privateKey
            self.clientID = clientID
            self.inactiveStatusName = inactiveStatusName
            self.pageSize = min(max(pageSize, 1), 1000)
            self.http = http
        }
    }
}
