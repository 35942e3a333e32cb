/// Wire models of the HaloPSA API (snake_case JSON), only the fields this adapter reads.
package struct HaloClientRecord: Codable, Sendable {
    var id: Int
    var name: String
    var inactive: Bool?
    /// The client type's id; its name comes from `/api/CustomerType`.
    var customertype: Int?
}

/// A client type of `/api/CustomerType`.
package struct HaloClientType: Codable, Sendable {
    var id: Int
    var name: String
}

/// A client contract of `/api/ClientContract` (list key `contracts`).
package struct HaloContract: Codable, Sendable {
    var id: Int
    var ref: String?
    var client_id: Int?
    package var end_date: String?
    var expired: Bool?
    var active: Bool?
}

package struct HaloContractList: Codable, Sendable {
    var record_count: Int?
    package var contracts: [HaloContract]
}

package struct HaloClientList: Codable, Sendable {
    var record_count: Int?
    var clients: [HaloClientRecord]
}

package struct HaloAsset: Codable, Sendable {
    var id: Int
    var client_id: Int?
    var inventory_number: String?
    var key_field: String?
    var inactive: Bool?
    var assettype_name: String?
    /// The contract the asset is billed under; 0 or absent for none.
    var contract_id: Int?
    var notes: String?
    /// The asset's status (Halo's own list), kept apart from `inactive`.
    var status_id: Int?
}

/// A recurring invoice of `/api/RecurringInvoice` (list key `invoices`).
package struct HaloRecurringInvoice: Codable, Sendable {
    var id: Int
    var client_id: Int?
    var contract_id: Int?
    var invoicenumber: String?
    var inactive: Bool?
}

package struct HaloRecurringInvoiceList: Codable, Sendable {
    var invoices: [HaloRecurringInvoice]
}

/// An open ticket of `/api/Tickets` (list key `tickets`).
package struct HaloTicket: Codable, Sendable {
    var id: Int
    var summary: String?
}

package struct HaloTicketList: Codable, Sendable {
    var record_count: Int?
    var tickets: [HaloTicket]
}

package struct HaloAssetPage: Codable, Sendable {
    var page_no: Int?
    var page_size: Int?
    var record_count: Int?
    package var assets: [HaloAsset]
}

package struct HaloAssetUpdate: Codable, Sendable {
    var id: Int
    var inactive: Bool
    /// The asset's notes with the reason line appended; absent when the line is already there.
    var notes: String?
}

package struct HaloToken: Codable, Sendable {
    var access_token: String
    var token_type: String?
    var expires_in: Int?
}

/// OAuth errors: `{"error": "invalid_client", "error_description": "..."}`.
package struct HaloOAuthError: Codable, Sendable {
    var error: String
    var error_description: String?
}

/// One element of `POST /api/Tickets` (an array): summary, details, client and ticket type.
package struct HaloNewTicket: Codable, Sendable {
    var summary: String
    var details: String
    var client_id: Int
    var tickettype_id: Int
    var status_id: Int?
}
