import OffboardingCore

extension ConnectWiseClient {
    /// The configuration's previous status, by the id the offboarding recorded: the exact status it
    /// had, not just some open one.
    public func restore(_ restoration: PSARestoration, note: ReasonNote?) async throws(PSAError) -> PSAConfiguration {
        guard let previous = restoration.previous.status?.id, let status = Int(previous), status > 0 else {
            throw PSAError(
                code: .configUpdateFailed,
                message: "configuration \(restoration.configuration.id): no previous ConnectWise status id was recorded to restore")
        }
        return try await patch(restoration.configuration, status: status, note: note)
    }
}
