import Foundation

/// Writes company-status-changed events the way `CloudEventDecoder` reads them: structured mode
/// (`application/cloudevents+json`) or binary mode (`ce_` headers, `data` as the value).
public enum CloudEventEncoder {
    public static func structured(_ event: CompanyStatusChangedEvent) -> (headers: [(String, String)], value: [UInt8]) {
        var document: [String: JSONValue] = [
            "specversion": .string("1.0"),
            "id": .string(event.id),
            "source": .string(event.source),
            "type": .string(CompanyStatusChangedEvent.eventType),
            "datacontenttype": .string("application/json"),
            "data": data(event),
        ]
        if let time = event.time { document["time"] = .string(time) }
        if event.trigger != .event { document["trigger"] = .string(event.trigger.rawValue) }
        if let restores = event.restores { document["restores"] = .string(restores) }
        if let requestedBy = event.requestedBy { document["requestedby"] = .string(requestedBy) }
        if let traceParent = event.traceParent { document["traceparent"] = .string(traceParent.description) }
        return ([("content-type", "application/cloudevents+json")], json(.object(document)))
    }

    public static func binary(_ event: CompanyStatusChangedEvent) -> (headers: [(String, String)], value: [UInt8]) {
        var headers = [
            ("ce_specversion", "1.0"), ("ce_id", event.id), ("ce_source", event.source),
            ("ce_type", CompanyStatusChangedEvent.eventType), ("content-type", "application/json"),
        ]
        if let time = event.time { headers.append(("ce_time", time)) }
        if event.trigger != .event { headers.append(("ce_trigger", event.trigger.rawValue)) }
        if let restores = event.restores { headers.append(("ce_restores", restores)) }
        if let requestedBy = event.requestedBy { headers.append(("ce_requestedby", requestedBy)) }
        if let traceParent = event.traceParent { headers.append(("ce_traceparent", traceParent.description)) }
        return (headers, json(data(event)))
    }

    static func data(_ event: CompanyStatusChangedEvent) -> JSONValue {
        var data: [String: JSONValue] = [
            "psa": .string(event.psa.rawValue),
            "company_id": .string(event.companyID),
            "status": .string(event.status),
        ]
        if let name = event.companyName { data["company_name"] = .string(name) }
        if let previous = event.previousStatus { data["previous_status"] = .string(previous) }
        var options: [String: JSONValue] = [:]
        if let value = event.options.dryRun { options["dry_run"] = .bool(value) }
        if let value = event.options.requireApproval { options["require_approval"] = .bool(value) }
        if let value = event.options.includeArchived { options["include_archived"] = .bool(value) }
        if let value = event.options.reason { options["reason"] = .string(value) }
        if let value = event.options.offboardedStatuses { options["offboarded_statuses"] = .array(value.map(JSONValue.string)) }
        if !options.isEmpty { data["options"] = .object(options) }
        return .object(data)
    }

    private static func json(_ value: JSONValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(value)) ?? Data())
    }
}
