import Foundation

/// A strict parser for the subset of ConnectWise's `conditions` grammar the simulator serves:
/// clauses `field op value` joined by `and`, op `=` or `!=`, values quoted strings (with `\"`
/// escapes), integers, `true` or `false`. Anything else is a 400, as on the real API.
struct ConnectWiseConditions {
    enum Value: Equatable {
        case string(String)
        case integer(Int)
        case bool(Bool)
    }

    struct Clause: Equatable {
        var field: String
        var negated: Bool
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
            let negated: Bool
            if scalars.starts(with: "!=".unicodeScalars) {
                negated = true
                scalars.removeFirst(2)
            } else if scalars.first == "=" {
                negated = false
                scalars.removeFirst()
            } else {
                throw ParseError(message: "expected = or != after \(field) in conditions")
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
            clauses.append(Clause(field: field, negated: negated, value: value))
            skipSpaces()
            if scalars.isEmpty { break }
            let word = String(String.UnicodeScalarView(scalars.prefix(4))).lowercased()
            guard word == "and " else { throw ParseError(message: "expected 'and' between clauses in conditions: \(text)") }
            scalars.removeFirst(4)
        }
        self.clauses = clauses
    }

    /// Whether a record with these field values passes every clause.
    func matches(_ fields: [String: Value]) -> Bool {
        clauses.allSatisfy { clause in
            let equal: Bool
            switch (fields[clause.field], clause.value) {
            case (.string(let a)?, .string(let b)): equal = a.caseInsensitiveCompare(b) == .orderedSame
            case (let a?, let b): equal = a == b
            case (nil, _): equal = false
            }
            return clause.negated ? !equal : equal
        }
    }
}
