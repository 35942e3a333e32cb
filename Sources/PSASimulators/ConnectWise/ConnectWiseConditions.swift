import Foundation

/// A strict parser for the subset of ConnectWise's `conditions` grammar the simulator serves:
/// clauses `field op value` joined by `and`, op `=`, `!=`, `<` or `>`, values quoted strings (with
/// `\"` escapes), integers, `true`, `false` or `[date-time]`; and `field in (v1,v2,...)` with
/// integers or quoted strings. Anything else is a 400, as on the real API.
struct ConnectWiseConditions {
    enum Value: Equatable {
        case string(String)
        case integer(Int)
        case bool(Bool)
        case date(Date)
        case list([Value])
    }

    enum Operator: Equatable {
        case equal, notEqual, less, greater, within
    }

    struct Clause: Equatable {
        var field: String
        var op: Operator
        var value: Value
    }

    struct ParseError: Error {
        var message: String
    }

    var clauses: [Clause]

    init(parsing text: String, allowedFields: Set<String>) throws(ParseError) {
        var scalars = Array(text.unicodeScalars)[...]
        var clauses: [Clause] = []
        func skipSpaces() { while let first = scalars.first, first == " " { scalars.removeFirst() } }
        while true {
            skipSpaces()
            var field = ""
            while let first = scalars.first, first.properties.isAlphabetic || first == "/" || first == "_" || ("0"..."9").contains(first) {
                field.unicodeScalars.append(scalars.removeFirst())
            }
            guard !field.isEmpty else { throw ParseError(message: "expected a field name in conditions: \(text)") }
            guard allowedFields.contains(field) else { throw ParseError(message: "unknown field \(field) in conditions") }
            skipSpaces()
            if String(String.UnicodeScalarView(scalars.prefix(3))).lowercased() == "in " || String(String.UnicodeScalarView(scalars.prefix(3))).lowercased() == "in(" {
                scalars.removeFirst(2)
                skipSpaces()
                guard scalars.popFirst() == "(" else { throw ParseError(message: "expected ( after \(field) in, in conditions") }
                var values: [Value] = []
                while true {
                    skipSpaces()
                    var token = ""
                    if scalars.first == "\"" {
                        scalars.removeFirst()
                        while let scalar = scalars.popFirst(), scalar != "\"" { token.unicodeScalars.append(scalar) }
                        values.append(.string(token))
                    } else {
                        while let first = scalars.first, first != ",", first != ")", first != " " { token.unicodeScalars.append(scalars.removeFirst()) }
                        guard let integer = Int(token) else { throw ParseError(message: "value \(token) in the list of \(field) must be quoted or a number") }
                        values.append(.integer(integer))
                    }
                    skipSpaces()
                    guard let separator = scalars.popFirst() else { throw ParseError(message: "unterminated list of \(field) in conditions") }
                    if separator == ")" { break }
                    guard separator == "," else { throw ParseError(message: "expected , or ) in the list of \(field) in conditions") }
                }
                guard !values.isEmpty else { throw ParseError(message: "empty list of \(field) in conditions") }
                clauses.append(Clause(field: field, op: .within, value: .list(values)))
                skipSpaces()
                if scalars.isEmpty { break }
                let word = String(String.UnicodeScalarView(scalars.prefix(4))).lowercased()
                guard word == "and " else { throw ParseError(message: "expected 'and' between clauses in conditions: \(text)") }
                scalars.removeFirst(4)
                continue
            }
            let op: Operator
            if scalars.starts(with: "!=".unicodeScalars) {
                op = .notEqual
                scalars.removeFirst(2)
            } else if let first = scalars.first, let single = ["=": Operator.equal, "<": .less, ">": .greater][String(first)] {
                op = single
                scalars.removeFirst()
            } else {
                throw ParseError(message: "expected =, !=, < or > after \(field) in conditions")
            }
            skipSpaces()
            let value: Value
            if scalars.first == "\"" {
                scalars.removeFirst()
                var string = ""
                var closed = false
                while let scalar = scalars.popFirst() {
                    if scalar == "\\" {
                        guard let escaped = scalars.popFirst() else { break }
                        string.unicodeScalars.append(escaped)
                    } else if scalar == "\"" {
                        closed = true
                        break
                    } else {
                        string.unicodeScalars.append(scalar)
                    }
                }
                guard closed else { throw ParseError(message: "unterminated string in conditions") }
                value = .string(string)
            } else if scalars.first == "[" {
                scalars.removeFirst()
                var text = ""
                while let scalar = scalars.popFirst(), scalar != "]" { text.unicodeScalars.append(scalar) }
                guard let date = try? Date(text, strategy: .iso8601) else { throw ParseError(message: "[\(text)] is not a date-time in conditions") }
                value = .date(date)
            } else {
                var token = ""
                while let first = scalars.first, first != " " { token.unicodeScalars.append(scalars.removeFirst()) }
                if let integer = Int(token) {
                    value = .integer(integer)
                } else if token == "true" || token == "false" {
                    value = .bool(token == "true")
                } else {
                    throw ParseError(message: "value \(token) of \(field) must be quoted, a number, true or false")
                }
            }
            clauses.append(Clause(field: field, op: op, value: value))
            skipSpaces()
            if scalars.isEmpty { break }
            let word = String(String.UnicodeScalarView(scalars.prefix(4))).lowercased()
            guard word == "and " else { throw ParseError(message: "expected 'and' between clauses in conditions: \(text)") }
            scalars.removeFirst(4)
        }
        self.clauses = clauses
    }

    /// Whether a record with these field values passes every clause. A record without the
    /// field passes only `!=`.
    func matches(_ fields: [String: Value]) -> Bool {
        clauses.allSatisfy { clause in
            guard let field = fields[clause.field] else { return clause.op == .notEqual }
            switch clause.op {
            case .equal: return Self.equal(field, clause.value)
            case .notEqual: return !Self.equal(field, clause.value)
            case .less: return Self.order(field, clause.value) == .orderedAscending
            case .greater: return Self.order(field, clause.value) == .orderedDescending
            case .within:
                guard case .list(let values) = clause.value else { return false }
                return values.contains { Self.equal(field, $0) }
            }
        }
    }

    private static func equal(_ a: Value, _ b: Value) -> Bool {
        if case .string(let x) = a, case .string(let y) = b { return x.caseInsensitiveCompare(y) == .orderedSame }
        return a == b
    }

    private static func order(_ a: Value, _ b: Value) -> ComparisonResult? {
        switch (a, b) {
        case (.date(let x), .date(let y)): x == y ? .orderedSame : (x < y ? .orderedAscending : .orderedDescending)
        case (.integer(let x), .integer(let y)): x == y ? .orderedSame : (x < y ? .orderedAscending : .orderedDescending)
        default: nil
        }
    }
}
