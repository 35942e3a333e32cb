/// Decodes company-status-changed events from Kafka records in CloudEvents structured mode (the whole
/// event as the value) or binary mode (`ce_` headers, the `data` object as the value).
public enum CloudEventDecoder {
    /// - Parameters:
    ///   - value: the record value.
    ///   - headers: the record headers, last value per key, as UTF-8 strings.
    public static func decode(value: [UInt8]?, headers: [String: String]) throws(InvalidEventError) -> CompanyStatusChangedEvent {
        guard let value, !value.isEmpty else { throw InvalidEventError("record has no value") }
        guard String(validating: value, as: UTF8.self) != nil else { throw InvalidEventError("value is not UTF-8") }
        let document: JSONValue
        do {
            document = try JSONValue.parse(value, limits: .event)
        } catch {
            throw InvalidEventError(error.message("value"))
        }
        if headers["ce_specversion"] != nil {
            return try decodeBinary(data: document, headers: headers)
        }
        if let contentType = headers["content-type"], !contentType.hasPrefix("application/cloudevents+json"),
            !contentType.hasPrefix("application/json")
        {
            throw InvalidEventError("content-type \(contentType) is not application/cloudevents+json")
        }
        return try decodeStructured(document)
    }

    static func decodeStructured(_ document: JSONValue) throws(InvalidEventError) -> CompanyStatusChangedEvent {
        guard case .object(let fields) = document else {
            throw InvalidEventError("event is \(document.typeName), not an object")
        }
        let attributes = try Attributes(
            specversion: requiredString(fields, "specversion"),
            id: requiredString(fields, "id"),
            source: requiredString(fields, "source"),
            type: requiredString(fields, "type"),
            time: optionalString(fields, "time"),
            datacontenttype: optionalString(fields, "datacontenttype"),
            trigger: optionalString(fields, "trigger"),
            restores: optionalString(fields, "restores"),
            requestedBy: optionalString(fields, "requestedby"),
            traceParent: Self.traceParent(fields["traceparent"])
        )
        guard let data = fields["data"] else { throw InvalidEventError("data is missing") }
        return try makeEvent(attributes: attributes, data: data)
    }

    static func decodeBinary(data: JSONValue, headers: [String: String]) throws(InvalidEventError) -> CompanyStatusChangedEvent {
        func header(_ name: String) throws(InvalidEventError) -> String {
            guard let value = headers["ce_\(name)"], !value.isEmpty else { throw InvalidEventError("header ce_\(name) is missing") }
            return value
        }
        let attributes = try Attributes(
            specversion: header("specversion"), id: header("id"), source: header("source"), type: header("type"),
            time: headers["ce_time"], datacontenttype: headers["content-type"], trigger: headers["ce_trigger"],
            restores: headers["ce_restores"], requestedBy: headers["ce_requestedby"],
            traceParent: (headers["ce_traceparent"] ?? headers["traceparent"]).flatMap(TraceParent.init)
        )
        return try makeEvent(attributes: attributes, data: data)
    }

    private struct Attributes {
        var specversion: String
        var id: String
        var source: String
        var type: String
        var time: String?
        var datacontenttype: String?
        var trigger: String?
        var restores: String?
        var requestedBy: String?
        var traceParent: TraceParent?
    }

    /// Tracing is not worth losing an event over: a `traceparent` that is not one is left out.
    fileprivate static func traceParent(_ value: JSONValue?) -> TraceParent? {
        guard case .string(let text)? = value else { return nil }
        return TraceParent(text)
    }

    private static func makeEvent(attributes: Attributes, data: JSONValue) throws(InvalidEventError) -> CompanyStatusChangedEvent {
        guard attributes.specversion == "1.0" else {
            throw InvalidEventError("specversion \(attributes.specversion) is not 1.0")
        }
        guard attributes.type == CompanyStatusChangedEvent.eventType else {
            throw InvalidEventError("type \(attributes.type) is not \(CompanyStatusChangedEvent.eventType)")
        }
        if let contentType = attributes.datacontenttype, !contentType.hasPrefix("application/json") {
            throw InvalidEventError("datacontenttype \(contentType) is not application/json")
        }
        if let time = attributes.time, !Timestamp.isRFC3339(time) {
            throw InvalidEventError("time \(time) is not an RFC 3339 timestamp")
        }
        var trigger = OffboardingTrigger.event
        if let name = attributes.trigger {
            guard let known = OffboardingTrigger(rawValue: name) else {
                throw InvalidEventError("trigger \(name) is not one of event, manual, api, schedule, webhook, restore")
            }
            trigger = known
        }
        // A restore names the offboarding it undoes, and only a restore names one.
        if trigger == .restore {
            guard let restores = attributes.restores, !restores.isEmpty else { throw InvalidEventError("a restore event needs the restores attribute") }
            guard restores.utf8.count <= 256 else { throw InvalidEventError("restores is longer than 256 bytes") }
        } else if attributes.restores != nil || attributes.requestedBy != nil {
            throw InvalidEventError("restores and requestedby belong to trigger restore, not \(trigger.rawValue)")
        }
        guard case .object(let fields) = data else { throw InvalidEventError("data is \(data.typeName), not an object") }
        let known: Set = ["psa", "company_id", "company_name", "previous_status", "status", "options"]
        if let unknown = JSONValue.firstUnknownKey(of: fields, known: known) {
            throw InvalidEventError("data.\(unknown) is not a known field")
        }
        let psaName = try requiredString(fields, "psa", path: "data.")
        guard let psa = PSAKind(rawValue: psaName) else {
            throw InvalidEventError("data.psa \(psaName) is not one of connectwise, autotask, halopsa")
        }
        let companyID: String
        switch fields["company_id"] {
        case .string(let id) where !id.isEmpty: companyID = id
        case .number?:
            guard let id = fields["company_id"]?.integer(in: 0...JSONValue.idRange.upperBound) else {
                throw InvalidEventError("data.company_id must be a whole number from 0 to 2^53-1")
            }
            companyID = String(id)
        case nil: throw InvalidEventError("data.company_id is missing")
        case let other?: throw InvalidEventError("data.company_id is \(other.typeName), not a non-empty string or id number")
        }
        var options = OffboardingOptions.Overrides()
        if let optionsValue = fields["options"] {
            options = try OffboardingOptions.Overrides(json: optionsValue, path: "data.options")
        }
        return CompanyStatusChangedEvent(
            id: attributes.id, source: attributes.source, time: attributes.time, psa: psa, companyID: companyID,
            companyName: try optionalString(fields, "company_name", path: "data."),
            previousStatus: try optionalString(fields, "previous_status", path: "data."),
            status: try requiredString(fields, "status", path: "data."), options: options, trigger: trigger,
            restores: attributes.restores, requestedBy: attributes.requestedBy, traceParent: attributes.traceParent
        )
    }

    static func requiredString(_ fields: [String: JSONValue], _ key: String, path: String = "") throws(InvalidEventError) -> String {
        guard let value = try optionalString(fields, key, path: path) else { throw InvalidEventError("\(path)\(key) is missing") }
        guard !value.isEmpty else { throw InvalidEventError("\(path)\(key) is empty") }
        return value
    }

    static func optionalString(_ fields: [String: JSONValue], _ key: String, path: String = "") throws(InvalidEventError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw InvalidEventError("\(path)\(key) is \(other.typeName), not a string")
        }
    }
}

extension CloudEventDecoder {
    /// The trace a record belongs to, read without decoding the event: a `traceparent` header (what
    /// the service itself writes), binary mode's `ce_traceparent`, or structured mode's attribute,
    /// the value parsed only when it names one. Nil when there is none or it is not valid.
    public static func traceParent(value: [UInt8]?, headers: [String: String]) -> TraceParent? {
        if let header = headers["traceparent"] ?? headers["ce_traceparent"] { return TraceParent(header) }
        // An escaped key (`\u0074raceparent`) names it too, so one with escapes is parsed as well.
        guard let value, contains(value, Array(#"traceparent""#.utf8)) || contains(value, Array(#"\u"#.utf8)),
            case .object(let fields)? = try? JSONValue.parse(value, limits: .event)
        else { return nil }
        return traceParent(fields["traceparent"])
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count, let first = needle.first else { return false }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}
