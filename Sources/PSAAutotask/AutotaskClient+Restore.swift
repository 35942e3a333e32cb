import OffboardingCore
import PSAHTTP

extension AutotaskClient {
    /// `isActive` back to what it was (Autotask's API keeps no history to roll back to), and the
    /// restore line as a note of its own, as a deactivation's.
    public func restore(_ restoration: PSARestoration, note: ReasonNote?) async throws(PSAError) -> PSAItem {
        try await setActive(restoration.configuration, to: restoration.previous.active, note: note)
    }
}
