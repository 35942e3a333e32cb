import OffboardingCore

/// The body of `POST /v1/offboardings`, read strictly: unknown or mistyped fields are refused by
/// name, so that a misspelled `dry_run` can never turn a preview into real deactivations.
package struct OffboardingRequestBody: Sendable, Hashable {
    package var client: ClientReference
    package var options: OffboardingOptions.Overrides

    static let optionKeys: Set = ["dry_run", "require_approval", "include_archived", "reason", "offboarded_statuses"]

    package static func parse(_ body: [UInt8]) throws(InvalidEventError) -> OffboardingRequestBody {
        let fields = try RequestJSON.object(body)
        if let unknown = JSONValue.firstUnknownKey(of: fields, known: optionKeys.union(["client_id", "client_name"])) {
            throw InvalidEventError("\(unknown) is not a known field")
        }
        let client: ClientReference
        switch (fields["client_id"], fields["client_name"]) {
        case (.string(let id)?, nil) where !id.isEmpty:
            client = .id(id)
        case (.number?, nil):
            guard let id = fields["client_id"]?.integer(in: JSONValue.idRange) else {
                throw InvalidEventError("client_id must be a whole number from 1 to 2^53-1")
            }
            client = .id(String(id))
        case (nil, .string(let name)?) where !name.trimmingCharacters(in: .whitespaces).isEmpty:
            client = .name(name)
        case (nil, nil), (.null?, nil), (nil, .null?):
            throw InvalidEventError("client_id or client_name is required")
        case (_?, _?):
            throw InvalidEventError("give client_id or client_name, not both")
        default:
            throw InvalidEventError("client_id must be a non-empty string or positive integer; client_name a non-empty string")
        }
        do {
            let options = try OffboardingOptions.Overrides(json: .object(fields.filter { optionKeys.contains($0.key) }), path: "body")
            return OffboardingRequestBody(client: client, options: options)
        } catch {
            throw InvalidEventError(error.message.replacingOccurrences(of: "body.", with: ""))
        }
    }
}

/// The body of `POST /v1/approvals/{approval_id}`.
package struct ApprovalDecisionBody: Sendable, Hashable {
    package var verdict: ApprovalDecision.Verdict
    package var approver: String
    package var comment: String?
    /// Configuration ids the reviewer keeps out of an approved offboarding.
    package var keep: [String] = []

    package static func parse(_ body: [UInt8]) throws(InvalidEventError) -> ApprovalDecisionBody {
        let fields = try RequestJSON.object(body)
        if let unknown = JSONValue.firstUnknownKey(of: fields, known: ["decision", "approver", "comment", "keep"]) {
            throw InvalidEventError("\(unknown) is not a known field")
        }
        guard case .string(let verdictText)? = fields["decision"], let verdict = ApprovalDecision.Verdict(rawValue: verdictText) else {
            throw InvalidEventError("decision must be \"approve\" or \"reject\"")
        }
        guard case .string(let approver)? = fields["approver"], !approver.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw InvalidEventError("approver is required")
        }
        var parsed = ApprovalDecisionBody(verdict: verdict, approver: approver)
        switch fields["comment"] {
        case nil, .null?: break
        case .string(let text)?: parsed.comment = text
        default: throw InvalidEventError("comment must be a string")
        }
        switch fields["keep"] {
        case nil, .null?: break
        case let value?:
            guard let ids = value.nonEmptyStrings else { throw InvalidEventError("keep must be a list of configuration ids (strings)") }
            parsed.keep = ids
        }
        return parsed
    }
}

/// The body of `POST /v1/offboardings/{event_id}/restore`; an empty body asks for a real restore.
package struct RestoreRequestBody: Sendable, Hashable {
    package var dryRun: Bool?
    package var reason: String?
    package var requestedBy: String?

    package static func parse(_ body: [UInt8]) throws(InvalidEventError) -> RestoreRequestBody {
        guard !body.isEmpty else { return RestoreRequestBody() }
        let fields = try RequestJSON.object(body)
        if let unknown = JSONValue.firstUnknownKey(of: fields, known: ["dry_run", "reason", "requested_by"]) {
            throw InvalidEventError("\(unknown) is not a known field")
        }
        var parsed = RestoreRequestBody()
        switch fields["dry_run"] {
        case nil, .null?: break
        case .bool(let value)?: parsed.dryRun = value
        default: throw InvalidEventError("dry_run must be true or false")
        }
        switch fields["reason"] {
        case nil, .null?: break
        case .string(let text)? where text.utf8.count <= 4096: parsed.reason = text
        default: throw InvalidEventError("reason must be a string of at most 4096 bytes")
        }
        switch fields["requested_by"] {
        case nil, .null?: break
        // It travels as a CloudEvents attribute (a Kafka header in binary mode).
        case .string(let text)? where !text.isEmpty && text.utf8.count <= 256: parsed.requestedBy = text
        default: throw InvalidEventError("requested_by must be a non-empty string of at most 256 bytes")
        }
        return parsed
    }
}

/// A request body that must be one JSON object.
enum RequestJSON {
    static func object(_ body: [UInt8]) throws(InvalidEventError) -> [String: JSONValue] {
        guard !body.isEmpty else { throw InvalidEventError("the body is empty; send a JSON object") }
        let value: JSONValue
        do {
            value = try JSONValue.parse(body, limits: .request)
        } catch {
            throw InvalidEventError(error.message("the body"))
        }
        guard case .object(let fields) = value else { throw InvalidEventError("the body is \(value.typeName), not an object") }
        return fields
    }
}
