import Foundation

/// The seed workflow's per-request options, fully resolved.
public struct OffboardingOptions: Sendable, Hashable {
    public var dryRun: Bool
    public var requireApproval: Bool
    public var includeArchived: Bool
    public var reason: String?
    /// Company statuses that count as offboarded for this request.
    public var offboardedStatuses: [String]

    public init(
        dryRun: Bool = false, requireApproval: Bool = false, includeArchived: Bool = false, reason: String? = nil,
        offboardedStatuses: [String]
    ) {
        self.dryRun = dryRun
        self.requireApproval = requireApproval
        self.includeArchived = includeArchived
        self.reason = reason
        self.offboardedStatuses = offboardedStatuses
    }

    /// Per-request values; each one left nil falls back to the configured defaults.
    public struct Overrides: Sendable, Hashable {
        public var dryRun: Bool?
        public var requireApproval: Bool?
        public var includeArchived: Bool?
        public var reason: String?
        public var offboardedStatuses: [String]?

        public init(
            dryRun: Bool? = nil, requireApproval: Bool? = nil, includeArchived: Bool? = nil, reason: String? = nil,
            offboardedStatuses: [String]? = nil
        ) {
            self.dryRun = dryRun
            self.requireApproval = requireApproval
            self.includeArchived = includeArchived
            self.reason = reason
            self.offboardedStatuses = offboardedStatuses
        }

        /// Strict: an unknown or mistyped option is an error, so that a misspelled `dry_run` can never
        /// turn a preview into real deactivations.
        public init(json: JSONValue, path: String) throws(InvalidEventError) {
            guard case .object(let fields) = json else { throw InvalidEventError("\(path) is \(json.typeName), not an object") }
            self.init()
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                let field = "\(path).\(key)"
                switch key {
                case "dry_run": dryRun = try Self.bool(value, field)
                case "require_approval": requireApproval = try Self.bool(value, field)
                case "include_archived": includeArchived = try Self.bool(value, field)
                case "reason":
                    switch value {
                    case .null: reason = nil
                    case .string(let text): reason = text
                    default: throw InvalidEventError("\(field) is \(value.typeName), not a string")
                    }
                case "offboarded_statuses":
                    guard case .array = value else { throw InvalidEventError("\(field) is \(value.typeName), not an array") }
                    guard let statuses = value.nonEmptyStrings else { throw InvalidEventError("\(field) must hold non-empty strings") }
                    guard !statuses.isEmpty else { throw InvalidEventError("\(field) is empty") }
                    offboardedStatuses = statuses
                default:
                    throw InvalidEventError("\(field) is not a known option")
                }
            }
        }

        private static func bool(_ value: JSONValue, _ field: String) throws(InvalidEventError) -> Bool? {
            switch value {
            case .null: return nil
            case .bool(let flag): return flag
            default: throw InvalidEventError("\(field) is \(value.typeName), not a boolean")
            }
        }

        public func resolved(defaults: OffboardingOptions) -> OffboardingOptions {
            OffboardingOptions(
                dryRun: dryRun ?? defaults.dryRun,
                // Approval is the operator's safeguard: a request may ask for it, never turn it off.
                requireApproval: (requireApproval ?? false) || defaults.requireApproval,
                includeArchived: includeArchived ?? defaults.includeArchived,
                reason: reason ?? defaults.reason,
                offboardedStatuses: offboardedStatuses ?? defaults.offboardedStatuses
            )
        }
    }

    /// Whether a company status counts as offboarded. Case and surrounding blanks are ignored because
    /// PSA status names are typed by people.
    public func isOffboarded(status: String) -> Bool {
        let normalized = Self.normalize(status)
        return offboardedStatuses.contains { Self.normalize($0) == normalized }
    }

    static func normalize(_ status: String) -> String {
        status.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }
}
