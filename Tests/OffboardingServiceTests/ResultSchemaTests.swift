import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import Testing

/// The schema file and the validator the scenario tests rely on can both say no.
@Suite struct ResultSchemaTests {
    let validator: JSONSchemaValidator

    init() throws {
        validator = try JSONSchemaValidator(schemaFile: "result.schema.json")
    }

    func encoded(_ mutate: (inout [String: Any]) -> Void) throws -> [UInt8] {
        let result = OffboardingResult(
            success: true, eventID: "e", trigger: .event, psa: .connectwise, clientID: "1", clientName: "A", timestamp: "2026-01-22T10:30:00Z",
            dryRun: false, reason: nil, statistics: .init(configsFound: 1, configsDeactivated: 1),
            configs: [.init(configID: "9", configName: "x", status: .inactive, previousStatus: .active, action: .deactivated)])
        var object = try JSONSerialization.jsonObject(with: Data(try ResultEncoding.encode(result))) as! [String: Any]
        mutate(&object)
        return Array(try JSONSerialization.data(withJSONObject: object))
    }

    @Test func aResultAsEncodedIsValid() throws {
        #expect(validator.problems(in: try encoded { _ in }) == [])
    }

    @Test func theContractsExampleIsValid() throws {
        let example = """
            {"success": true, "event_id": "5f0c2b1e-7d1a-4c55-9a0e-2b7f1b3c9d10", "trigger": "event", "psa": "connectwise",
             "client_id": "12345", "client_name": "Example Client", "timestamp": "2026-01-22T10:30:00Z", "dry_run": false,
             "reason": "Contract ended", "statistics": {"configs_found": 18, "configs_deactivated": 18, "configs_skipped": 0, "errors": 0},
             "configs": [{"config_id": "9876", "config_name": "Firewall - HQ", "status": "inactive", "previous_status": "active", "action": "deactivated"}],
             "warnings": [], "errors": []}
            """
        #expect(validator.problems(in: Array(example.utf8)) == [])
    }

    @Test func deviationsAreCaught() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("missing success", { $0["success"] = nil }),
            ("unknown field", { $0["extra"] = 1 }),
            ("wrong trigger", { $0["trigger"] = "cron" }),
            ("negative count", { $0["statistics"] = ["configs_found": -1, "configs_deactivated": 0, "configs_skipped": 0, "errors": 0] }),
            ("bad action", { $0["configs"] = [["config_id": "1", "config_name": "x", "status": "inactive", "previous_status": "active", "action": "deleted"]] }),
            ("bad timestamp", { $0["timestamp"] = "yesterday" }),
            ("error without code", { $0["errors"] = [["message": "m", "timestamp": "2026-01-22T10:30:00Z"]] }),
        ]
        for (name, mutate) in cases {
            #expect(!validator.problems(in: try encoded(mutate)).isEmpty, "\(name) should be invalid")
        }
    }
}
