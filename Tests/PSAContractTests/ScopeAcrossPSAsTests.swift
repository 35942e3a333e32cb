import AsyncHTTPClient
import Foundation
import OffboardingCore
import OffboardingService
import OffboardingTestSupport
import PSASimulators
import Testing

/// `scope.include_types` / `exclude_types` on every PSA, by the type names each PSA shows
/// (Autotask's are picklist labels, read from the tenant, never assumed).
@Suite struct ScopeAcrossPSAsTests {
    @Test(arguments: PSAKind.allCases)
    func typesOutOfScopeAreLeftOnEveryPSA(psa: PSAKind) async throws {
        try await PSAUnderTest.serving(psa, maxConcurrentUpdates: 4) { tenant, client in
            let ids = await tenant.addClient(id: 810_001, name: "Scope Client", offboarded: true, active: 4, inactive: 0)
            for (id, type) in zip(ids, ["Firewall", "Managed Server", "Workstation", "Software Licence"]) {
                await tenant.setType(type, ofConfiguration: id)
            }
            let scope = OffboardingScope(includeTypes: ["managed server", "Workstation", "Firewall"], excludeTypes: [" firewall "])
            let request = OffboardingRequest(
                eventID: "scope-\(UUID().uuidString)", trigger: .api, client: .id("810001"), options: .init(offboardedStatuses: ["Inactive", "Offboarded"]))
            let result = await Offboarder(psa: client, configuration: .init(scope: scope), logger: .test()).run(request)
            #expect(result.statistics.configsDeactivated == 2)
            #expect(Set(result.configs.filter { $0.skipReason == .outOfScope }.map(\.configID)) == [String(ids[0]), String(ids[3])])
            for (id, active) in zip(ids, [true, false, false, true]) {
                #expect(await tenant.isConfigurationActive(id) == active, "\(psa) configuration \(id)")
            }
        }
    }
}
