/// The records a HaloPSA simulator serves; also the format of `sandbox --psa halopsa --data FILE`.
public struct HaloDataset: Codable, Sendable {
    public struct Client: Codable, Sendable, Hashable {
        public var id: Int
        public var name: String
        public var inactive: Bool
        public init(id: Int, name: String, inactive: Bool) {
            self.id = id
            self.name = name
            self.inactive = inactive
        }
    }

    public struct Asset: Codable, Sendable, Hashable {
        public var id: Int
        public var clientID: Int
        public var inventoryNumber: String
        public var inactive: Bool
        public var assetTypeName: String
        public init(id: Int, clientID: Int, inventoryNumber: String, inactive: Bool, assetTypeName: String = "Workstation") {
            self.id = id
            self.clientID = clientID
            self.inventoryNumber = inventoryNumber
            self.inactive = inactive
            self.assetTypeName = assetTypeName
        }
    }

    public var clients: [Client]
    public var assets: [Asset]

    public init(clients: [Client], assets: [Asset]) {
        self.clients = clients
        self.assets = assets
    }

    public static func empty() -> HaloDataset { HaloDataset(clients: [], assets: []) }

    /// The sample tenant of `demo` and `sandbox`.
    public static func sample() -> HaloDataset {
        var data = empty()
        func add(_ id: Int, _ name: String, inactive: Bool, assets: Int, inactiveAssets: Int = 0) {
            data.clients.append(Client(id: id, name: name, inactive: inactive))
            for index in 0..<(assets + inactiveAssets) {
                data.assets.append(Asset(id: id * 100 + index + 1, clientID: id, inventoryNumber: "\(name) asset \(index + 1)", inactive: index >= assets))
            }
        }
        add(12, "Example Client", inactive: true, assets: 9, inactiveAssets: 1)
        add(13, "Adventure Works", inactive: false, assets: 4)
        return data
    }
}
