import OffboardingCore
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

    /// The HTTP settings of whichever PSA this is.
    public var http: PSAHTTPTransport.Configuration {
        switch self {
        case .connectwise(let configuration): configuration.http
        case .autotask(let configuration): configuration.http
        case .halopsa(let configuration): configuration.http
        }
    }

    public var kind: PSAKind {
        switch self {
        case .connectwise: .connectwise
        case .autotask: .autotask
        case .halopsa: .halopsa
        }
    }

    /// The same PSA with the pacer on or off and, for HaloPSA, another batch size.
    public func adjusted(adaptive: Bool = true, haloBatchSize: Int? = nil) -> Self {
        var copy = self
        if !adaptive { copy.updateHTTP { $0.adaptive = nil } }
        if let haloBatchSize, case .halopsa(var configuration) = copy {
            configuration.batchSize = haloBatchSize
            copy = .halopsa(configuration)
        }
        return copy
    }
}
