import OffboardingCore

/// Text from the PSA made safe and short for a terminal: names are the PSA's users' free text and
/// may hold escape sequences that would rewrite the screen.
enum TerminalText {
    static func clean(_ text: String, width: Int = .max) -> String {
        let printable = String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format ? "?" : scalar
        }))
        return printable.clipped(to: width)
    }

    /// Rows under a header, each column as wide as its widest cell.
    static func table(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { cell, width in cell + String(repeating: " ", count: width - cell.count) }
                .joined(separator: "  ").replacing(/\s+$/, with: "")
        }
        let rule = widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}
