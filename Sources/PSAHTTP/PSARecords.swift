import OffboardingCore

/// How a PSA names its records in messages, and the rules that read a record's id or name from
/// outside (an event, a retry request, an operator's command) the same way for every PSA.
public struct PSARecords: Sendable {
    /// "ConnectWise", "Autotask", "HaloPSA".
    public let psa: String
    /// "company", "client".
    public let company: String
    /// "companies", "clients".
    public let companies: String
    /// "configuration", "configuration item", "asset".
    public let configuration: String

    public init(psa: String, company: String, companies: String, configuration: String) {
        self.psa = psa
        self.company = company
        self.companies = companies
        self.configuration = configuration
    }

    /// The one record among `candidates` named exactly `name`. None, or more than one (a name
    /// need not be unique in any of the PSAs), is `ClientNotFound`: offboarding the wrong one of
    /// two clients with one name is worse than offboarding neither.
    public func exactlyOne<Record, ID>(
        _ candidates: [Record], named name: String, by nameOf: (Record) -> String, id: (Record) -> ID
    ) throws(PSAError) -> Record {
        let matches = candidates.filter { nameOf($0) == name }
        guard let match = matches.first else {
            throw PSAError(code: .clientNotFound, message: "\(psa) has no \(company) named \"\(name)\"")
        }
        guard matches.count == 1 else {
            throw PSAError(
                code: .clientNotFound,
                message: "\(matches.count) \(psa) \(companies) are named \"\(name)\" (ids \(matches.map(id))); use the \(company) id")
        }
        return match
    }

    /// A company id from outside as the PSA's number, or `ClientNotFound` (see `PSARecordID`).
    public func companyNumber(_ text: String) throws(PSAError) -> Int {
        try PSARecordID.number(text, of: "\(psa) \(company)", code: .clientNotFound)
    }

    /// Company ids from outside as the PSA's numbers, each by `companyNumber(_:)`.
    public func companyNumbers(_ texts: [String]) throws(PSAError) -> [Int] {
        var numbers: [Int] = []
        for text in texts { numbers.append(try companyNumber(text)) }
        return numbers
    }

    /// How many active configurations each of the `asked` companies has among `items`: a company
    /// with none is absent, and one not asked about is not counted, so that a PSA that ignored a
    /// query's filter starts no offboarding (the sweep's multi-company queries).
    public static func activeCounts(_ items: [PSAItem], of asked: [Int]) -> [String: Int] {
        let asked = Set(asked.map(String.init))
        var counts: [String: Int] = [:]
        for item in items where item.isActive {
            guard let company = item.companyID, asked.contains(company) else { continue }
            counts[company, default: 0] += 1
        }
        return counts
    }

    /// A configuration id from outside as the PSA's number, or `ConfigNotFound`.
    public func configurationNumber(_ text: String) throws(PSAError) -> Int {
        try PSARecordID.number(text, of: "\(psa) \(configuration)", code: .configNotFound)
    }
}

/// The one rule for a PSA record id read from outside: a positive whole number written in ASCII
/// digits, with no sign, no leading zero and no more than fits an `Int`, as the PSAs write the ids
/// of the records an offboarding touches. Anything else names no such record: "0" and "-1" are no
/// client to offboard, "+5" and "007" would be a second spelling of 5 and 7 (and so a second key,
/// partition and history for one client), and other scripts' digits are not the PSA's.
public enum PSARecordID {
    /// The most digits an id can have: `Int.max` has 19.
    public static let maxDigits = String(Int.max).count

    public static func parse(_ text: String) -> Int? {
        let digits = text.utf8
        guard (1...maxDigits).contains(digits.count), digits.first != UInt8(ascii: "0"),
            digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return Int(text)
    }

    /// `text` as an id, or the contract's error `code`: "\(kind) ids are positive numbers, not …".
    public static func number(_ text: String, of kind: String, code: OffboardingErrorCode) throws(PSAError) -> Int {
        guard let number = parse(text) else {
            throw PSAError(code: code, message: "\(kind) ids are positive numbers, not \"\(text)\"")
        }
        return number
    }
}
