/// The records an Autotask simulator serves; also the format of `sandbox --psa autotask --data FILE`.
public struct AutotaskDataset: Codable, Sendable {
    public struct Company: Codable, Sendable, Hashable {
        public var id: Int
        public var companyName: String
        public var isActive: Bool
        /// A `companyType` picklist value.
        public var companyType: Int
        public init(id: Int, companyName: String, isActive: Bool, companyType: Int = 1) {
            self.id = id
            self.companyName = companyName
            self.isActive = isActive
            self.companyType = companyType
        }
    }

    public struct ConfigurationItem: Codable, Sendable, Hashable {
        public var id: Int
        public var companyID: Int
        public var referenceTitle: String
        public var isActive: Bool
        /// A `configurationItemType` picklist value.
        public var configurationItemType: Int?
        public init(id: Int, companyID: Int, referenceTitle: String, isActive: Bool, configurationItemType: Int? = nil) {
            self.id = id
            self.companyID = companyID
            self.referenceTitle = referenceTitle
            self.isActive = isActive
            self.configurationItemType = configurationItemType
        }
    }

    /// The `companyType` picklist: value → label.
    public var companyTypes: [Int: String]
    /// The `configurationItemType` picklist: value → label (each tenant defines its own).
    public var configurationItemTypes: [Int: String]?
    public var companies: [Company]
    public var configurationItems: [ConfigurationItem]

    public init(
        companyTypes: [Int: String], companies: [Company], configurationItems: [ConfigurationItem],
        configurationItemTypes: [Int: String]? = nil
    ) {
        self.companyTypes = companyTypes
        self.configurationItemTypes = configurationItemTypes
        self.companies = companies
        self.configurationItems = configurationItems
    }

    public static func empty() -> AutotaskDataset {
        AutotaskDataset(
            companyTypes: [1: "Customer", 2: "Lead", 3: "Prospect", 4: "Dead", 5: "Cancelation", 6: "Vendor"], companies: [],
            configurationItems: [], configurationItemTypes: [1: "Server", 2: "Workstation", 3: "Firewall", 4: "Printer"])
    }

    /// The sample tenant of `demo` and `sandbox`.
    public static func sample() -> AutotaskDataset {
        var data = empty()
        func add(_ id: Int, _ name: String, active: Bool, type: Int, configs: Int, inactive: Int = 0) {
            data.companies.append(Company(id: id, companyName: name, isActive: active, companyType: type))
            for index in 0..<(configs + inactive) {
                data.configurationItems.append(
                    ConfigurationItem(
                        id: id * 1000 + index + 1, companyID: id, referenceTitle: "\(name) device \(index + 1)", isActive: index < configs,
                        configurationItemType: index % 4 + 1))
            }
        }
        add(29683001, "Example Client", active: false, type: 1, configs: 12, inactive: 1)
        add(29683002, "Tailspin Toys", active: true, type: 5, configs: 4)
        add(29683003, "Wide World Importers", active: true, type: 1, configs: 3)
        return data
    }
}
