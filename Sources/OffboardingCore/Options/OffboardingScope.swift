/// Which configurations an offboarding may change (`scope.*`): types to include or exclude by
/// name, and a blast-radius limit above which a run needs an approval even when none was asked for.
public struct OffboardingScope: Sendable, Hashable {
    /// When not empty, only configurations of these types change; one without a type name does not.
    public var includeTypes: [String]
    public var excludeTypes: [String]
    /// More configurations to deactivate than this makes the run wait for an approval.
    public var maxConfigs: Int?

    public init(includeTypes: [String] = [], excludeTypes: [String] = [], maxConfigs: Int? = nil) {
        self.includeTypes = includeTypes
        self.excludeTypes = excludeTypes
        self.maxConfigs = maxConfigs
    }

    public var isUnrestricted: Bool { includeTypes.isEmpty && excludeTypes.isEmpty }

    /// Type names are typed by people, so case and surrounding blanks are ignored.
    public func contains(_ configuration: PSAItem) -> Bool {
        let type = configuration.typeName.map(Self.normalize)
        if !includeTypes.isEmpty {
            guard let type, includeTypes.contains(where: { Self.normalize($0) == type }) else { return false }
        }
        if let type, excludeTypes.contains(where: { Self.normalize($0) == type }) { return false }
        return true
    }

    private static func normalize(_ name: String) -> String {
        name.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }
}
