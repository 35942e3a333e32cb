/// The records a ConnectWise simulator serves. Also the format of `sandbox --data FILE` (JSON).
public struct ConnectWiseDataset: Codable, Sendable {
    public struct Status: Codable, Sendable, Hashable {
        public var id: Int
        public var name: String
        public init(id: Int, name: String) {
            self.id = id
            self.name = name
        }
    }

    public struct ConfigurationStatus: Codable, Sendable, Hashable {
        public var id: Int
        public var description: String
        public var closedFlag: Bool
        public var defaultFlag: Bool
        public init(id: Int, description: String, closedFlag: Bool, defaultFlag: Bool = false) {
            self.id = id
            self.description = description
            self.closedFlag = closedFlag
            self.defaultFlag = defaultFlag
        }
    }

    public struct Company: Codable, Sendable, Hashable {
        public var id: Int
        public var identifier: String
        public var name: String
        public var status: Status
        public init(id: Int, identifier: String, name: String, status: Status) {
            self.id = id
            self.identifier = identifier
            self.name = name
            self.status = status
        }
    }

    public struct Configuration: Codable, Sendable, Hashable {
        public var id: Int
        public var name: String
        public var companyID: Int
        public var statusID: Int
        public var typeName: String
        public init(id: Int, name: String, companyID: Int, statusID: Int, typeName: String = "Managed Server") {
            self.id = id
            self.name = name
            self.companyID = companyID
            self.statusID = statusID
            self.typeName = typeName
        }
    }

    public var companyStatuses: [Status]
    public var configurationStatuses: [ConfigurationStatus]
    public var companies: [Company]
    public var configurations: [Configuration]

    public init(companyStatuses: [Status], configurationStatuses: [ConfigurationStatus], companies: [Company], configurations: [Configuration]) {
        self.companyStatuses = companyStatuses
        self.configurationStatuses = configurationStatuses
        self.companies = companies
        self.configurations = configurations
    }

    public static let activeCompanyStatus = Status(id: 1, name: "Active")
    public static let offboardedCompanyStatus = Status(id: 5, name: "Offboarded")
    public static let inactiveCompanyStatus = Status(id: 2, name: "Inactive")
    public static let activeConfigurationStatus = ConfigurationStatus(id: 1, description: "Active", closedFlag: false, defaultFlag: true)
    public static let inactiveConfigurationStatus = ConfigurationStatus(id: 3, description: "Inactive", closedFlag: true)
    public static let retiredConfigurationStatus = ConfigurationStatus(id: 4, description: "Retired", closedFlag: true)

    /// An empty tenant with ConnectWise's usual status lists.
    public static func empty() -> ConnectWiseDataset {
        ConnectWiseDataset(
            companyStatuses: [activeCompanyStatus, inactiveCompanyStatus, offboardedCompanyStatus],
            configurationStatuses: [activeConfigurationStatus, inactiveConfigurationStatus, retiredConfigurationStatus],
            companies: [], configurations: [])
    }

    /// The sample tenant of `demo` and `sandbox`.
    public static func sample() -> ConnectWiseDataset {
        var data = empty()
        let kinds = ["Firewall", "Switch", "Server", "Workstation", "Printer", "Access Point"]
        func add(company id: Int, _ name: String, status: Status, active: Int, inactive: Int) {
            data.companies.append(Company(id: id, identifier: name.replacingOccurrences(of: " ", with: ""), name: name, status: status))
            for index in 0..<(active + inactive) {
                let kind = kinds[index % kinds.count]
                data.configurations.append(
                    Configuration(
                        id: id * 1000 + index + 1, name: "\(kind) - \(name) \(index + 1)", companyID: id,
                        statusID: index < active ? activeConfigurationStatus.id : inactiveConfigurationStatus.id, typeName: kind))
            }
        }
        add(company: 12345, "Example Client", status: offboardedCompanyStatus, active: 18, inactive: 2)
        add(company: 23456, "Northwind Traders", status: offboardedCompanyStatus, active: 7, inactive: 0)
        add(company: 34567, "Contoso Dental", status: activeCompanyStatus, active: 5, inactive: 0)
        add(company: 45678, "Fabrikam Legal", status: inactiveCompanyStatus, active: 3, inactive: 1)
        return data
    }
}
