extension ConnectWiseClient {
    public struct Configuration: Sendable, Hashable {
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
        public var requestTimeout: Duration
        /// How often one call is repeated after 429, 502, 503 or 504 before it fails.
        public var maxAttempts: Int
        /// The longest `Retry-After` honoured; longer ones fail the call instead of stalling it.
        public var maxRetryAfter: Duration

        public init(
            baseURL: String, companyID: String, publicKey: String, privateKey: String, clientID: String,
            inactiveStatusName: String? = nil, pageSize: Int = 1000, requestTimeout: Duration = .seconds(30), maxAttempts: Int = 5,
            maxRetryAfter: Duration = .seconds(60)
        ) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.companyID = companyID
            self.publicKey = publicKey
            self.privateKey = privateKey
            self.clientID = clientID
            self.inactiveStatusName = inactiveStatusName
            self.pageSize = min(max(pageSize, 1), 1000)
            self.requestTimeout = requestTimeout
            self.maxAttempts = max(1, maxAttempts)
            self.maxRetryAfter = maxRetryAfter
        }
    }
}
