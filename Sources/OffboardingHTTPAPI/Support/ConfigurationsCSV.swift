import OffboardingCore

/// A result's configurations as CSV (RFC 4180), for the person who reviews them in a spreadsheet.
enum ConfigurationsCSV {
    static let header = ["config_id", "config_name", "config_type", "status", "previous_status", "action", "psa_status", "skip_reason"]

    static func render(_ result: OffboardingResult) -> String {
        var lines = [header.joined(separator: ",")]
        for config in result.configs {
            let cells = [
                config.configID, config.configName, config.configType ?? "", config.status.rawValue, config.previousStatus.rawValue,
                config.action.rawValue, config.psaStatus ?? "", config.skipReason?.rawValue ?? "",
            ]
            lines.append(cells.map(cell).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Names come from the PSA: one starting like a formula would run as one in a spreadsheet, so
    /// it is written as text (a leading apostrophe, OWASP's advice on CSV injection).
    static func cell(_ text: String) -> String {
        var value = text
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || value != text else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
