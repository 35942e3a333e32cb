/// Wire models of the ConnectWise PSA REST API (v4_6_release / 3.0), only the fields this adapter reads.
package struct ConnectWiseReference: Codable, Sendable, Hashable {
    var id: Int
    var name: String?
}

package struct ConnectWiseCompany: Codable, Sendable {
    var id: Int
    var identifier: String?
    var name: String
    var status: ConnectWiseReference?
    var deletedFlag: Bool?
    /// The company types (Client, Vendor, ...); the catalogue is `/company/companies/types`.
    var types: [ConnectWiseReference]?
}

/// An addition of `/finance/agreements/{id}/additions`: a billed product on the agreement.
package struct ConnectWiseAddition: Codable, Sendable {
    var id: Int
    var product: ConnectWiseProductReference?
    var description: String?
    var cancelledDate: String?
    var agreementStatus: String?
}

package struct ConnectWiseProductReference: Codable, Sendable {
    var id: Int?
    var identifier: String?
}

/// An open ticket of `/service/tickets`.
package struct ConnectWiseTicket: Codable, Sendable {
    var id: Int
    var summary: String?
    var externalXRef: String?
}

/// A master record of `/company/companies/statuses`.
package struct ConnectWiseCompanyStatus: Codable, Sendable {
    var id: Int
    var name: String
    /// The status means inactive, whatever it is called.
    var inactiveFlag: Bool?
}

/// An agreement of `/finance/agreements`, only the fields the criteria and checks read.
package struct ConnectWiseAgreement: Codable, Sendable {
    var id: Int
    var name: String
    var company: ConnectWiseReference?
    var agreementStatus: String?
    var endDate: String?
    var noEndingDateFlag: Bool?
    var cancelledFlag: Bool?
    var dateCancelled: String?
}

package struct ConnectWiseConfiguration: Codable, Sendable {
    var id: Int
    var name: String
    var type: ConnectWiseReference?
    var status: ConnectWiseReference?
    var company: ConnectWiseReference?
    var activeFlag: Bool?
    var notes: String?
    /// `lastUpdated` tells whether the configuration changed since it was last read.
    var _info: Info?

    package struct Info: Codable, Sendable {
        var lastUpdated: String?
    }
}

/// A master record of `/company/configurations/statuses`: the name is `description` here.
package struct ConnectWiseConfigurationStatus: Codable, Sendable {
    var id: Int
    var description: String
    var closedFlag: Bool
    var defaultFlag: Bool?
}

package struct ConnectWisePatchOperation: Encodable, Sendable {
    enum Value: Encodable, Sendable {
        case reference(id: Int)
        case text(String)

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .reference(let id): try ConnectWiseReferenceValue(id: id).encode(to: encoder)
            case .text(let text):
                var container = encoder.singleValueContainer()
                try container.encode(text)
            }
        }
    }

    var op: String
    var path: String
    var value: Value
}

package struct ConnectWiseReferenceValue: Codable, Sendable {
    var id: Int
}

/// ConnectWise's `ErrorResponseMessage`.
package struct ConnectWiseErrorBody: Codable, Sendable {
    var code: String?
    var message: String?
    /// A 400's detail: which field of which resource, and why.
    var errors: [FieldError]?

    package struct FieldError: Codable, Sendable {
        var code: String?
        var message: String?
        var field: String?
    }
}

/// The body of `POST /service/tickets`: `summary` (at most 100 characters) and `company` are
/// required; a `status` must be one of the board's.
package struct ConnectWiseNewTicket: Codable, Sendable {
    var summary: String
    var company: ConnectWiseReference
    var board: ConnectWiseReference
    var status: ConnectWiseReference?
    var initialDescription: String
    var externalXRef: String
}
