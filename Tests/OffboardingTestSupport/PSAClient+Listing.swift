import OffboardingCore
import PSASimulators

extension PSAClient {
    /// What listing `companyID`'s configurations fails with (nil: it was listed), and how many API
    /// requests `tenant` answered meanwhile, refused ones included: for ids the adapter must
    /// refuse before a request carries them.
    public func listingFailure(companyID: String, tenant: any SimulatedTenant) async -> (error: PSAError?, requests: Int) {
        let before = await tenant.acceptedRequests + tenant.rateLimited
        var failure: PSAError?
        do throws(PSAError) {
            _ = try await listConfigurations(companyID: companyID, includeArchived: true)
        } catch {
            failure = error
        }
        return (failure, await tenant.acceptedRequests + tenant.rateLimited - before)
    }
}
