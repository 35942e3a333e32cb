import OffboardingCore
import OffboardingService
import PSAHalo
import PSAHTTP

extension OffboarderConfiguration.PSA {
    /// Changes the HTTP settings of whichever PSA this is.
    public mutating func updateHTTP(_ body: (inout PSAHTTPTransport.Configuration) -> Void) {
        body(&http)
    }

    /// The same PSA with the pacer on or off and, for HaloPSA, another batch size.
    public func adjusted(adaptive: Bool = true, haloBatchSize: Int? = nil) -> Self {
        var copy = self
        if !adaptive { copy.updateHTTP { $0.adaptive = nil } }
        if let haloBatchSize, var configuration = copy.settings(as: HaloClient.Configuration.self) {
            configuration.batchSize = haloBatchSize
            copy = .halopsa(configuration)
        }
        return copy
    }
}
