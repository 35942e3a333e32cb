/// Wire models of the Autotask REST API (camelCase JSON), only the fields this adapter reads.
package struct AutotaskCompany: Codable, Sendable {
    var id: Int
    var companyName: String
    var isActive: Bool
    var companyType: Int?
    var classification: Int?
}

/// A contract of `Contracts/query`. `status` 1 is "in effect" (only a third party says so; see
/// docs/psa-facts.md), and `endDate` is a date-time.
package struct AutotaskContract: Codable, Sendable {
    var id: Int
    var contractName: String?
    var companyID: Int?
    var status: Int?
    package var endDate: String?
}

package struct AutotaskConfigurationItem: Codable, Sendable {
    var id: Int
    var companyID: Int?
    var referenceTitle: String?
    var isActive: Bool
    /// A picklist value; its label comes from `ConfigurationItems/entityInformation/fields`.
    var configurationItemType: Int?
    /// The contract that bills the item, if any.
    var contractID: Int?
    /// The contract service whose units bill the item, if any.
    var contractServiceID: Int?
    /// Open RMM alerts on the item.
    var rmmOpenAlertCount: Int?
    /// Tells whether the item changed since it was last read.
    var lastModifiedTime: String?
}

package struct AutotaskItemResponse<Item: Codable & Sendable>: Codable, Sendable {
    /// null for an unknown id: Autotask answers 200 with `{"item": null}`.
    var item: Item?
}

package struct AutotaskQueryResponse<Item: Codable & Sendable>: Codable, Sendable {
    package var items: [Item]
    package var pageDetails: PageDetails?

    package struct PageDetails: Codable, Sendable {
        var count: Int?
        package var nextPageUrl: String?
    }
}

package struct AutotaskFilter: Codable, Sendable {
    var op: String
    var field: String
    var value: AutotaskFilterValue
}

enum AutotaskFilterValue: Codable, Sendable {
    case integer(Int)
    case date(String)
    case string(String)
    case bool(Bool)
    /// The value of the `in` operator.
    case integers([Int])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .integer(let value): try container.encode(value)
        case .string(let value), .date(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .integers(let values): try container.encode(values)
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let values = try? container.decode([Int].self) {
            self = .integers(values)
        } else {
            self = .string(try container.decode(String.self))
        }
    }
}

package struct AutotaskQuery: Codable, Sendable {
    var MaxRecords: Int?
    var IncludeFields: [String]?
    var filter: [AutotaskFilter]
}

package struct AutotaskConfigurationItemPatch: Codable, Sendable {
    var id: Int
    var isActive: Bool
}

package struct AutotaskPatchResponse: Codable, Sendable {
    var itemId: Int?
}

package struct AutotaskZoneInformation: Codable, Sendable {
    var zoneName: String?
    package var url: String
}

package struct AutotaskEntityFields: Codable, Sendable {
    var fields: [Field]

    struct Field: Codable, Sendable {
        var name: String
        var picklistValues: [PicklistValue]?
    }

    struct PicklistValue: Codable, Sendable {
        var value: String
        var label: String
    }
}

/// A service of a contract (`ContractServices`), to find the contract of an item billed through it.
package struct AutotaskContractService: Codable, Sendable {
    var id: Int
    var contractID: Int?
}

/// Autotask's error body: `{"errors": ["..."]}`.
package struct AutotaskErrorBody: Codable, Sendable {
    var errors: [String]?
}

/// A note of `ConfigurationItemNotes`, created through `/ConfigurationItems/{id}/Notes`:
/// `noteType` is a required picklist value.
package struct AutotaskItemNote: Codable, Sendable {
    var id: Int?
    var configurationItemID: Int
    var title: String
    var description: String?
    var noteType: Int?
}

/// A row of `Tickets/query`, only what the audit ticket's lookup reads.
package struct AutotaskTicket: Codable, Sendable {
    var id: Int
    var externalID: String?
}

/// The body of `POST /Tickets`: company, title (at most 255 characters), status, priority, a queue
/// (or a resource and role) and a due date are required; `description` holds 8,000 characters.
package struct AutotaskNewTicket: Codable, Sendable {
    var companyID: Int
    var title: String
    var description: String
    var queueID: Int
    var status: Int
    var priority: Int
    var dueDateTime: String
    var externalID: String
}
