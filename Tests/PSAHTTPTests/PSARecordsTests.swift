import OffboardingCore
import PSAHTTP
import Testing

/// The id rule and the lookup by name every adapter shares.
@Suite struct PSARecordsTests {
    struct Row {
        var id: Int
        var name: String
    }

    let halo = PSARecords(psa: "HaloPSA", company: "client", companies: "clients", configuration: "asset")

    @Test(arguments: [("1", 1), ("42", 42), ("9223372036854775807", Int.max)])
    func positiveIdsInASCIIDigitsAreRead(text: String, number: Int) {
        #expect(PSARecordID.parse(text) == number)
    }

    /// No PSA numbers a record 0 or below, and none writes an id with a sign, a leading zero,
    /// spaces or other scripts' digits: such a text is no id, or a second spelling of one.
    @Test(arguments: [
        "", "0", "00", "-1", "-0", "+5", "007", " 5", "5 ", "5\n", "1_000", "1e3", "0x1F", "٤٢", "１２", "five",
        "9223372036854775808", "99999999999999999999",
    ])
    func anythingElseIsNoId(text: String) {
        #expect(PSARecordID.parse(text) == nil)
    }

    @Test func theLongestIdIsAsLongAsIntMax() {
        #expect(PSARecordID.maxDigits == 19)
    }

    @Test func aRefusedCompanyIdIsClientNotFoundAndAConfigurationIdConfigNotFound() throws {
        #expect(throws: PSAError(code: .clientNotFound, message: "HaloPSA client ids are positive numbers, not \"0\"")) {
            _ = try halo.companyNumber("0")
        }
        #expect(throws: PSAError(code: .configNotFound, message: "HaloPSA asset ids are positive numbers, not \"-3\"")) {
            _ = try halo.configurationNumber("-3")
        }
        #expect(try halo.companyNumber("12") == 12)
    }

    @Test func theOneExactMatchIsFound() throws {
        let rows = [Row(id: 1, name: "Northwind"), Row(id: 2, name: "Northwind Traders"), Row(id: 3, name: "northwind traders")]
        let match = try halo.exactlyOne(rows, named: "Northwind Traders", by: \.name, id: \.id)
        #expect(match.id == 2)
    }

    @Test func noExactMatchIsClientNotFound() {
        let rows = [Row(id: 1, name: "Northwind Traders")]
        #expect(throws: PSAError(code: .clientNotFound, message: "HaloPSA has no client named \"Northwind\"")) {
            _ = try halo.exactlyOne(rows, named: "Northwind", by: \.name, id: \.id)
        }
        #expect(throws: PSAError(code: .clientNotFound, message: "HaloPSA has no client named \"Northwind\"")) {
            _ = try halo.exactlyOne([Row](), named: "Northwind", by: \.name, id: \.id)
        }
    }

    /// Two clients with one name: neither is chosen, and the message names both ids.
    @Test func twoExactMatchesAreAmbiguousNotAChoice() {
        let connectwise = PSARecords(psa: "ConnectWise", company: "company", companies: "companies", configuration: "configuration")
        let rows = [Row(id: 7, name: "Acme"), Row(id: 9, name: "Acme"), Row(id: 8, name: "Acme Ltd")]
        #expect(
            throws: PSAError(code: .clientNotFound, message: "2 ConnectWise companies are named \"Acme\" (ids [7, 9]); use the company id")
        ) {
            _ = try connectwise.exactlyOne(rows, named: "Acme", by: \.name, id: \.id)
        }
    }
}
