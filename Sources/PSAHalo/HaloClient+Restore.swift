import OffboardingCore

extension HaloClient {
    /// `inactive` back to what it was; the asset's `status_id` was never changed by the offboarding.
    public func restore(_ restoration: PSARestoration, note: ReasonNote?) async throws(PSAError) -> PSAItem {
        try await write(restoration.configuration, inactive: !restoration.previous.active, note: note)
    }
}
