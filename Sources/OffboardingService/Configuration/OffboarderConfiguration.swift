import Foundation
import OffboardingCore
import OffboardingHTTPAPI
import PSAHTTP

/// Everything `consume` and `run` need, read from the YAML file the contract describes.
public struct OffboarderConfiguration: Sendable {
    public struct Kafka: Sendable {
        public var bootstrapServers: String
        public var groupID: String
        public var topics: Topics
        /// Passed through to librdkafka for both the consumer and the producer (TLS, SASL, ...).
        public var properties: [String: String]

        public init(bootstrapServers: String, groupID: String, topics: Topics, properties: [String: String] = [:]) {
            self.bootstrapServers = bootstrapServers
            self.groupID = groupID
            self.topics = topics
            self.properties = properties
        }
    }

    public struct Topics: Sendable, Hashable {
        public var events: String
        public var results: String
        public var deadLetter: String
        public var retry: String
        public var approvals: String

        public static let defaultRetry = "psa.offboarding.retry"
        public static let defaultApprovals = "psa.offboarding.approvals"

        public init(events: String, results: String, deadLetter: String, retry: String = Self.defaultRetry, approvals: String = Self.defaultApprovals) {
            self.events = events
            self.results = results
            self.deadLetter = deadLetter
            self.retry = retry
            self.approvals = approvals
        }
    }

    public var kafka: Kafka
    public var psa: PSA
    /// Per-request options fall back to these; `offboardedStatuses` holds the criteria.
    public var defaults: OffboardingOptions
    /// How many deactivations of one client run at once (`rate_limit.max_concurrent_updates`).
    public var maxConcurrentUpdates: Int
    /// While the PSA cannot be reached, an event is tried again after this, doubling up to
    /// `maxOutageBackoff` (`retry.outage_backoff`, `retry.max_outage_backoff`).
    public var outageBackoff = OffboardingPipeline.Configuration.defaultOutageBackoff
    public var maxOutageBackoff = OffboardingPipeline.Configuration.defaultMaxOutageBackoff
    /// `retry.outage_max_wait`: how long a record waits out an outage in place before it moves to
    /// the retry topic.
    public var outageMaxWait = OffboardingPipeline.Configuration.defaultOutageMaxWait
    /// `shutdown.grace`: how long a stop lets running records finish before it cancels them.
    public var shutdownGrace = OffboardingPipeline.Configuration.defaultShutdownGrace
    /// The longest a stop may take before the process gives up on it: beyond the pipeline's own
    /// bound (its grace, then commit, close and flush), so that only a stop that hangs is cut short.
    public var longestStop: Duration { shutdownGrace + .seconds(15) }
    /// Attempts per event before configurations still failing are dead-lettered
    /// (`retry.topic_max_attempts`); the waits between them (`retry.topic_initial_delay`, doubling
    /// up to `retry.topic_max_delay`).
    public var retryTopicMaxAttempts = OffboardingPipeline.Configuration.defaultRetryTopicMaxAttempts
    public var retryTopicInitialDelay = OffboardingPipeline.Configuration.defaultRetryTopicInitialDelay
    public var retryTopicMaxDelay = OffboardingPipeline.Configuration.defaultRetryTopicMaxDelay

    /// `scope.*`: which configurations may change, and the blast-radius limit.
    public var scope = OffboardingScope()
    /// `notes.write_reason`: write the reason onto each deactivated configuration (where the PSA has notes).
    public var writeReasonToNotes = true
    /// `criteria.allow_request_override`: a request may name offboarded statuses beyond the
    /// configured ones (off: it may only narrow them).
    public var allowRequestOverride = false

    /// `criteria.company_types`, `criteria.contracts_ended.after` and `criteria.match`; the
    /// statuses are `defaults.offboardedStatuses`.
    public var companyTypes: [String] = []
    public var contractsEndedAfter: Duration?
    public var criteriaMatch = OffboardingCriteria.Match.any

    /// What makes a client offboarded.
    public var criteria: OffboardingCriteria {
        OffboardingCriteria(
            statuses: defaults.offboardedStatuses, companyTypes: companyTypes, contractsEndedAfter: contractsEndedAfter, match: criteriaMatch)
    }

    /// The criteria and approval rule every request is held to.
    public var policy: OffboardingPolicy {
        OffboardingPolicy(criteria: criteria, allowRequestOverride: allowRequestOverride, requireApproval: defaults.requireApproval, dryRun: defaults.dryRun)
    }
    /// `approvals.expire_after`: how long an approval stays open.
    public var approvalLifetime = Offboarder.Configuration.defaultApprovalLifetime
    /// How often approvals past their expiry are looked for (not in the file: tests shorten it).
    public var approvalExpiryInterval = OffboardingPipeline.Configuration.defaultApprovalExpiryInterval
    /// How long a revocation waits for the running records of its partitions (not in the file).
    public var revocationGrace = OffboardingPipeline.Configuration.defaultRevocationGrace
    /// How long a decided approval stays on the approvals topic (not in the file: tests shorten it).
    public var decidedApprovalRetention = OffboardingPipeline.Configuration.defaultDecidedApprovalRetention
    /// How long the poll loop may not turn before liveness fails (not in the file: tests shorten it).
    public var pollStallTimeout = OffboardingPipeline.Configuration.defaultPollStallTimeout
    /// `http.*`: the HTTP API, health probes and webhook ingress; off without `http.listen`.
    public var http: HTTP?
    /// `webhooks.*`: how each PSA's webhook deliveries are verified; a PSA left out gets 404.
    public var webhooks = Webhooks()
    /// `schedule.cron`: when `consume` runs the sweep (UTC); never without it.
    public var schedule: CronSchedule?
    /// `security.signing_keys`: the first signs every record the service writes to its own topics,
    /// each one verifies what it reads back (so keys rotate: add the new one first, then drop the
    /// old once no record signed by it is left to read). Required: there is no unsigned mode.
    public var signingKeys: [String] = []

    /// What signs and checks the service's records; nil when no key is configured, and then
    /// nothing may start (`requireSigner()`).
    public var signer: RecordSigner? {
        signingKeys.isEmpty ? nil : RecordSigner(keys: signingKeys.map { Array($0.utf8) })
    }

    /// The signer, or the error that names the missing key.
    public func requireSigner() throws(ConfigurationError) -> RecordSigner {
        guard let signer else { throw Self.signingKeysRequired }
        return signer
    }

    static let signingKeysRequired = ConfigurationError(
        key: "security.signing_keys",
        "is required: the service signs the records it writes to its own topics and trusts only those; give at least one key of \(RecordSigner.minimumKeyLength) or more characters from the environment or a file, such as \"${OFFBOARDER_SIGNING_KEY}\" (openssl rand -base64 32)")

    /// `tracing.otlp_endpoint`: where spans go over OTLP/HTTP (e.g. `http://otel-collector:4318`);
    /// nil: none are exported, and the `traceparent` an event came with is passed on as it is.
    public var tracingOTLPEndpoint: String?

    /// `notify.*`: the channels notices go to; none by default.
    public var notify = Notify()

    public struct HTTP: Sendable {
        public var host: String
        public var port: Int
        /// Bearer tokens accepted on `/v1/*`.
        public var apiTokens: [String]
        /// `http.timeouts`, `http.max_connections`, `http.secure_cookies`; the defaults are the server's.
        public var timeouts = OffboardingHTTPServer.Configuration.Timeouts()
        public var maxConnections = OffboardingHTTPServer.Configuration.defaultMaxConnections
        public var secureCookies = true

        public init(host: String, port: Int, apiTokens: [String]) {
            self.host = host
            self.port = port
            self.apiTokens = apiTokens
        }
    }

    public struct Webhooks: Sendable {
        /// Hosts `Metadata.key_url` may point to (`webhooks.connectwise.key_url_hosts`); nil: ConnectWise webhooks off.
        public var connectWiseKeyURLHosts: [String]?
        /// `webhooks.autotask.secret`; nil: Autotask webhooks off.
        public var autotaskSecret: String?
        /// `webhooks.halopsa.username` / `password`; nil: HaloPSA webhooks off.
        public var haloCredentials: (username: String, password: String)?
        /// How often one ConnectWise key URL path may be fetched (not in the file: tests shorten it).
        public var connectWiseKeyRefreshInterval = ConnectWiseWebhook.Settings.defaultKeyRefreshInterval

        public init(connectWiseKeyURLHosts: [String]? = nil, autotaskSecret: String? = nil, haloCredentials: (username: String, password: String)? = nil) {
            self.connectWiseKeyURLHosts = connectWiseKeyURLHosts
            self.autotaskSecret = autotaskSecret
            self.haloCredentials = haloCredentials
        }
    }

    public init(kafka: Kafka, psa: PSA, defaults: OffboardingOptions, maxConcurrentUpdates: Int = Offboarder.Configuration.defaultMaxConcurrentUpdates) {
        self.kafka = kafka
        self.psa = psa
        self.defaults = defaults
        self.maxConcurrentUpdates = maxConcurrentUpdates
    }

    public static func load(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> Self {
        guard let yaml = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigurationError(key: "", "cannot read the configuration file \(file)")
        }
        return try parse(yaml: yaml, environment: environment)
    }

    public static func parse(yaml: String, environment: [String: String]) throws(ConfigurationError) -> Self {
        let (hour, day, week) = (Duration.seconds(3600), Duration.seconds(86_400), Duration.seconds(7 * 86_400))
        let root = try ConfigurationReader.load(yaml: yaml, environment: environment)
            .allowing([
                "kafka", "psa", "criteria", "defaults", "rate_limit", "retry", "http", "webhooks", "approvals", "schedule", "scope", "notes", "shutdown",
                "tracing", "security", "notify", "audit",
            ])

        let kafkaSection = try root.requiredSection("kafka").allowing(["bootstrap_servers", "group_id", "topics", "properties"])
        let topicsSection = try kafkaSection.requiredSection("topics").allowing(["events", "results", "dead_letter", "retry", "approvals"])
        let topics = Topics(
            events: try topicsSection.requiredString("events"),
            results: try topicsSection.requiredString("results"),
            deadLetter: try topicsSection.requiredString("dead_letter"),
            retry: try topicsSection.string("retry") ?? Topics.defaultRetry,
            approvals: try topicsSection.string("approvals") ?? Topics.defaultApprovals)
        try topicsSection.finish()
        let kafka = Kafka(
            bootstrapServers: try kafkaSection.requiredString("bootstrap_servers"),
            groupID: try kafkaSection.requiredString("group_id"),
            topics: topics,
            properties: try kafkaSection.stringMap("properties"))
        try kafkaSection.finish()

        let psaSection = try root.requiredSection("psa").allowing(["kind", "base_url", "connectwise", "autotask", "halopsa"])
        let kindText = try psaSection.requiredString("kind")
        guard let kind = PSAKind(rawValue: kindText) else {
            throw ConfigurationError(key: psaSection.keyPath("kind"), "must be connectwise, autotask or halopsa, not \"\(kindText)\"")
        }
        guard let module = PSAModules.module(for: kind) else {
            throw ConfigurationError(key: psaSection.keyPath("kind"), "names a PSA this build does not speak")
        }
        // The PSA's own pacing first, then what the file says.
        var http = module.defaultHTTP
        typealias Pipeline = OffboardingPipeline.Configuration
        var outageBackoff = Pipeline.defaultOutageBackoff
        var maxOutageBackoff = Pipeline.defaultMaxOutageBackoff
        var retryTopicMaxAttempts = Pipeline.defaultRetryTopicMaxAttempts
        var retryTopicInitialDelay = Pipeline.defaultRetryTopicInitialDelay
        var retryTopicMaxDelay = Pipeline.defaultRetryTopicMaxDelay
        var outageMaxWait = Pipeline.defaultOutageMaxWait
        if let section = try root.section("retry")?.allowing([
            "max_attempts", "initial_backoff", "max_backoff", "budget", "max_retry_after", "outage_backoff", "max_outage_backoff",
            "topic_max_attempts", "topic_initial_delay", "topic_max_delay", "outage_max_wait",
        ]) {
            outageMaxWait = try section.duration("outage_max_wait", range: .seconds(1)...day) ?? outageMaxWait
            retryTopicMaxAttempts = try section.int("topic_max_attempts", range: 1...100) ?? retryTopicMaxAttempts
            retryTopicInitialDelay = try section.duration("topic_initial_delay", range: .seconds(1)...week) ?? retryTopicInitialDelay
            retryTopicMaxDelay = try section.duration("topic_max_delay", range: .seconds(1)...week) ?? retryTopicMaxDelay
            outageBackoff = try section.duration("outage_backoff", range: .milliseconds(1)...hour) ?? outageBackoff
            maxOutageBackoff = try section.duration("max_outage_backoff", range: .milliseconds(1)...hour) ?? maxOutageBackoff
            http.maxAttempts = try section.int("max_attempts", range: 1...100) ?? http.maxAttempts
            http.initialBackoff = try section.duration("initial_backoff", range: .zero...hour) ?? http.initialBackoff
            http.maxBackoff = try section.duration("max_backoff", range: .zero...hour) ?? http.maxBackoff
            http.budget = try section.duration("budget", range: .seconds(1)...day) ?? http.budget
            http.maxRetryAfter = try section.duration("max_retry_after", range: .zero...day) ?? http.maxRetryAfter
            try section.finish()
        }

        var maxConcurrentUpdates = Offboarder.Configuration.defaultMaxConcurrentUpdates
        if let section = try root.section("rate_limit")?.allowing(["max_concurrent_updates", "requests", "per", "max_in_flight", "adaptive"]) {
            maxConcurrentUpdates = try section.int("max_concurrent_updates", range: 1...256) ?? maxConcurrentUpdates
            let requests = try section.int("requests", range: 0...1_000_000)
            let per = try section.duration("per", range: .milliseconds(1)...day)
            guard (requests == nil) == (per == nil) else {
                throw ConfigurationError(key: section.keyPath(requests == nil ? "requests" : "per"), "goes with rate_limit.\(requests == nil ? "per" : "requests")")
            }
            if let requests, let per {
                http.rateLimit = requests == 0 ? nil : .init(maxRequests: requests, per: per)
            }
            if let maxInFlight = try section.int("max_in_flight", range: 0...1024) {
                http.maxInFlight = maxInFlight == 0 ? nil : maxInFlight
            }
            if try section.bool("adaptive") == false { http.adaptive = nil }
            try section.finish()
        }

        for other in PSAKind.allCases where other != kind && psaSection.contains(other.rawValue) {
            throw ConfigurationError(key: psaSection.keyPath(other.rawValue), "does not go with psa.kind \(kind)")
        }
        let psa = PSA(try module.read(psaSection, http: http))
        try psaSection.finish()

        var statuses = OffboardingCriteria.defaultStatuses
        var allowRequestOverride = false
        var companyTypes: [String] = []
        var contractsEndedAfter: Duration?
        var match = OffboardingCriteria.Match.any
        if let criteria = try root.section("criteria")?.allowing(
            ["offboarded_statuses", "allow_request_override", "company_types", "contracts_ended", "match"])
        {
            allowRequestOverride = try criteria.bool("allow_request_override") ?? allowRequestOverride
            companyTypes = try criteria.stringList("company_types") ?? []
            guard !companyTypes.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
                throw ConfigurationError(key: criteria.keyPath("company_types"), "must list non-empty type names")
            }
            if let ended = try criteria.section("contracts_ended")?.allowing(["after"]) {
                // Zero means "as soon as the last one ended"; a year bounds it like every duration.
                contractsEndedAfter = try ended.duration("after") ?? .zero
                try ended.finish()
            }
            if let text = try criteria.string("match") {
                guard let parsed = OffboardingCriteria.Match(rawValue: text) else {
                    throw ConfigurationError(key: criteria.keyPath("match"), "must be any or all, not \"\(text)\"")
                }
                match = parsed
            }
            if let list = try criteria.stringList("offboarded_statuses") {
                // Empty turns the status criterion off, which leaves the others to decide.
                guard !list.contains(where: \.isEmpty), !list.isEmpty || !companyTypes.isEmpty || contractsEndedAfter != nil else {
                    throw ConfigurationError(
                        key: criteria.keyPath("offboarded_statuses"), "must list at least one non-empty status (or company_types or contracts_ended must be set)")
                }
                statuses = list
            }
            try criteria.finish()
        }
        var defaults = OffboardingOptions(offboardedStatuses: statuses)
        if let section = try root.section("defaults")?.allowing(["dry_run", "require_approval", "include_archived"]) {
            defaults.dryRun = try section.bool("dry_run") ?? defaults.dryRun
            defaults.requireApproval = try section.bool("require_approval") ?? defaults.requireApproval
            defaults.includeArchived = try section.bool("include_archived") ?? defaults.includeArchived
            try section.finish()
        }
        var configuration = OffboarderConfiguration(kafka: kafka, psa: psa, defaults: defaults, maxConcurrentUpdates: maxConcurrentUpdates)
        configuration.allowRequestOverride = allowRequestOverride
        configuration.companyTypes = companyTypes
        configuration.contractsEndedAfter = contractsEndedAfter
        configuration.criteriaMatch = match
        try readSafeguards(root, environment: environment, into: &configuration)
        // Read last, so that every other key is checked even in a file that lacks it.
        if let security = try root.section("security")?.allowing(["signing_keys"]) {
            let keys = try security.stringList("signing_keys") ?? []
            if let short = keys.firstIndex(where: { $0.utf8.count < RecordSigner.minimumKeyLength }) {
                throw ConfigurationError(
                    key: "\(security.keyPath("signing_keys"))[\(short)]", "is \(keys[short].utf8.count) bytes; use at least \(RecordSigner.minimumKeyLength) (openssl rand -base64 32)")
            }
            configuration.signingKeys = keys
            try security.finish()
        }
        guard !configuration.signingKeys.isEmpty else { throw signingKeysRequired }
        try root.finish()
        configuration.outageMaxWait = outageMaxWait
        configuration.outageBackoff = outageBackoff
        configuration.maxOutageBackoff = max(outageBackoff, maxOutageBackoff)
        configuration.retryTopicMaxAttempts = retryTopicMaxAttempts
        configuration.retryTopicInitialDelay = retryTopicInitialDelay
        configuration.retryTopicMaxDelay = max(retryTopicInitialDelay, retryTopicMaxDelay)
        return configuration
    }

    /// `http`, `webhooks`, `approvals`, `schedule`, `scope` and `notes`.
    /// The shortest API token accepted, from the file or the environment.
    static let minimumTokenLength = 16

    private static func readSafeguards(
        _ root: ConfigurationReader, environment: [String: String], into configuration: inout OffboarderConfiguration
    ) throws(ConfigurationError) {
        if let http = try root.section("http")?.allowing(["listen", "api_tokens", "timeouts", "max_connections", "secure_cookies"]) {
            let listen = try http.requiredString("listen")
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port),
                colon > listen.startIndex
            else {
                throw ConfigurationError(key: http.keyPath("listen"), "must be host:port, such as 127.0.0.1:8080, not \"\(listen)\"")
            }
            let tokens = try http.stringList("api_tokens") ?? []
            if let short = tokens.first(where: { $0.count < minimumTokenLength }) {
                throw ConfigurationError(key: http.keyPath("api_tokens"), "holds a token of \(short.count) characters; use at least \(minimumTokenLength)")
            }
            // Tokens from the environment meet the same rule: a short one would be as easy to guess.
            let environmentTokens = (environment["PSA_OFFBOARDER_API_TOKENS"] ?? "")
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if let short = environmentTokens.first(where: { $0.count < minimumTokenLength }) {
                throw ConfigurationError(key: "PSA_OFFBOARDER_API_TOKENS", "holds a token of \(short.count) characters; use at least \(minimumTokenLength)")
            }
            var host = String(listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            var settings = HTTP(host: host, port: port, apiTokens: tokens + environmentTokens)
            if let timeouts = try http.section("timeouts")?.allowing(["header", "idle", "body"]) {
                let hour = Duration.seconds(3600)
                settings.timeouts.header = try timeouts.duration("header", range: .milliseconds(100)...hour) ?? settings.timeouts.header
                settings.timeouts.idle = try timeouts.duration("idle", range: .milliseconds(100)...hour) ?? settings.timeouts.idle
                settings.timeouts.body = try timeouts.duration("body", range: .milliseconds(100)...hour) ?? settings.timeouts.body
                try timeouts.finish()
            }
            settings.maxConnections = try http.int("max_connections", range: 1...65_536) ?? settings.maxConnections
            settings.secureCookies = try http.bool("secure_cookies") ?? settings.secureCookies
            configuration.http = settings
            try http.finish()
        }
        if let webhooks = try root.section("webhooks")?.allowing(Set(PSAKind.allCases.map(\.rawValue))) {
            // A webhook of another PSA would put that PSA's company ids into this one's pipeline.
            for other in PSAKind.allCases where other != configuration.psa.kind && webhooks.contains(other.rawValue) {
                throw ConfigurationError(key: webhooks.keyPath(other.rawValue), "does not go with psa.kind \(configuration.psa.kind)")
            }
            if let section = try webhooks.section(configuration.psa.kind.rawValue) {
                try PSAModules.module(for: configuration.psa.kind)?.readWebhooks(section, into: &configuration.webhooks)
            }
            try webhooks.finish()
        }
        if let audit = try root.section("audit")?.allowing(["ticket"]) {
            if let tickets = try audit.section("ticket")?.allowing(Set(PSAKind.allCases.map(\.rawValue))) {
                for other in PSAKind.allCases where other != configuration.psa.kind && tickets.contains(other.rawValue) {
                    throw ConfigurationError(key: tickets.keyPath(other.rawValue), "does not go with psa.kind \(configuration.psa.kind)")
                }
                if let section = try tickets.section(configuration.psa.kind.rawValue), var block = configuration.psa.settings as? any PSAConfigurationBlock {
                    try block.readAuditTicket(section)
                    configuration.psa.settings = block
                }
                try tickets.finish()
            }
            try audit.finish()
        }
        if let tracing = try root.section("tracing")?.allowing(["otlp_endpoint"]) {
            if let endpoint = try tracing.string("otlp_endpoint") {
                guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
                    throw ConfigurationError(key: tracing.keyPath("otlp_endpoint"), "must be an http or https URL, such as http://otel-collector:4318")
                }
                // The endpoint is logged at start; credentials belong in OTEL_EXPORTER_OTLP_HEADERS.
                guard url.user == nil, url.password == nil else {
                    throw ConfigurationError(key: tracing.keyPath("otlp_endpoint"), "must not carry credentials; set OTEL_EXPORTER_OTLP_HEADERS instead")
                }
                configuration.tracingOTLPEndpoint = endpoint
            }
            try tracing.finish()
        }
        if let notify = try root.section("notify") {
            configuration.notify = try readNotify(notify)
        }
        if let shutdown = try root.section("shutdown")?.allowing(["grace"]) {
            // Kubernetes kills after its own grace (30 s by default): the whole stop must fit in it.
            configuration.shutdownGrace = try shutdown.duration("grace", range: .zero...Duration.seconds(3600)) ?? configuration.shutdownGrace
            try shutdown.finish()
        }
        if let approvals = try root.section("approvals")?.allowing(["expire_after"]) {
            if let lifetime = try approvals.duration("expire_after", range: .seconds(1)...ConfigurationReader.longestDuration) {
                configuration.approvalLifetime = lifetime
            }
            try approvals.finish()
        }
        if let schedule = try root.section("schedule")?.allowing(["cron"]) {
            if let cron = try schedule.string("cron") {
                do {
                    configuration.schedule = try CronSchedule(parsing: cron)
                } catch {
                    throw ConfigurationError(key: schedule.keyPath("cron"), error.message)
                }
            }
            try schedule.finish()
        }
        if let scope = try root.section("scope")?.allowing(["include_types", "exclude_types", "max_configs"]) {
            configuration.scope = OffboardingScope(
                includeTypes: try scope.stringList("include_types") ?? [], excludeTypes: try scope.stringList("exclude_types") ?? [],
                maxConfigs: try scope.int("max_configs", range: 1...1_000_000))
            try scope.finish()
        }
        if let notes = try root.section("notes")?.allowing(["write_reason"]) {
            let writeReason = try notes.bool("write_reason")
            // Asked for explicitly where the adapter cannot write notes: refused, never ignored.
            if writeReason == true, !type(of: configuration.psa.settings).writesNotes {
                throw ConfigurationError(
                    key: notes.keyPath("write_reason"), "\(configuration.psa.kind) configurations have no notes field this service writes; remove the key or set it to false")
            }
            configuration.writeReasonToNotes = writeReason ?? configuration.writeReasonToNotes
            try notes.finish()
        }
    }
}
