import OffboardingService
import PSAHTTP

extension OffboarderConfiguration.PSA {
    /// Changes the HTTP settings of whichever PSA this is.
    public mutating func updateHTTP(_ body: (inout PSAHTTPTransport.Configuration) -> Void) {
        switch self {
        case .connectwise(var configuration):
            body(&configuration.http)
            self = .connectwise(configuration)
        case .autotask(var configuration):
            body(&configuration.http)
            self = .autotask(configuration)
        case .halopsa(var configuration):
            body(&configuration.http)
            self = .halopsa(configuration)
        }
    }
}
