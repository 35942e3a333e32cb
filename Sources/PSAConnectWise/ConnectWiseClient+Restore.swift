import OffboardingCore
import PSAHTTP

extension ConnectWiseClient {
    /// The configuration's previous status, by the id the offboarding recorded: the exact status it
    /// had, not just some open one.
    public func restore(_ restoration: PSARestoration, note: ReasonNote?) async throws(PSAError) -> PSAItem {
        guard let status = restoration.previous.status.flatMap({ PSARecordID.parse($0.id) }) else {
            throw PSAError(
                code: .configUpdateFailed,
                message: "configuration \(restoration.configuration.id): no previous ConnectWise status id was recorded to restore")
        }
        return try await patch(restoration.configuration, status: status, note: note)
    }
}
