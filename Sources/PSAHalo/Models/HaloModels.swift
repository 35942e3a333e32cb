/// Wire models of the HaloPSA API (snake_case JSON), only the fields this adapter reads.
struct HaloClientRecord: Codable, Sendable {
    var id: Int
    var name: String
    var inactive: Bool?
}

struct HaloClientList: Codable, Sendable {
    var record_count: Int?
    var clients: [HaloClientRecord]
}

struct HaloAsset: Codable, Sendable {
    var id: Int
    var client_id: Int?
    var inventory_number: String?
    var key_field: String?
    var inactive: Bool?
    var assettype_name: String?
}

struct HaloAssetPage: Codable, Sendable {
    var page_no: Int?
    var page_size: Int?
    var record_count: Int?
    var assets: [HaloAsset]
}

struct HaloAssetUpdate: Codable, Sendable {
    var id: Int
    var inactive: Bool
}

struct HaloToken: Codable, Sendable {
    var access_token: String
    var token_type: String?
    var expires_in: Int?
}

/// OAuth errors: `{"error": "invalid_client", "error_description": "..."}`.
struct HaloOAuthError: Codable, Sendable {
    var error: String
    var error_description: String?
}
