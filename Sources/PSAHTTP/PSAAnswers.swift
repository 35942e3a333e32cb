import OffboardingCore

/// How one PSA's answers are read: the body of a 2xx answer, decoded, or the contract's error for
/// any other, with the PSA's own words for what went wrong.
public struct PSAAnswers: Sendable {
    /// "ConnectWise", "Autotask", "HaloPSA": how messages name the PSA.
    public let psa: String
    public let mapping: PSAErrorMapping
    /// What the vendor's error body says, read however that vendor writes it.
    private let message: @Sendable (PSAHTTPTransport.Response) -> String

    public init(psa: String, mapping: PSAErrorMapping, message: @escaping @Sendable (PSAHTTPTransport.Response) -> String) {
        self.psa = psa
        self.mapping = mapping
        self.message = message
    }

    /// The body of a 2xx answer; anything else becomes the contract's error for it.
    public func body(of response: PSAHTTPTransport.Response, what: String) throws(PSAError) -> [UInt8] {
        try mapping.body(of: response, detail: detail(response, what: what))
    }

    public func decode<T: Decodable>(_ type: T.Type, from body: [UInt8]) throws(PSAError) -> T {
        try PSAJSON.decode(type, from: body, psa: psa)
    }

    /// A 2xx answer's body as `T`; any other answer as the contract's error.
    public func decode<T: Decodable>(_ type: T.Type, of response: PSAHTTPTransport.Response, what: String) throws(PSAError) -> T {
        try decode(type, from: try body(of: response, what: what))
    }

    /// The contract's error for a write the PSA did not accept.
    public func updateError(for response: PSAHTTPTransport.Response, what: String) -> PSAError {
        mapping.updateError(for: response, detail: detail(response, what: what))
    }

    private func detail(_ response: PSAHTTPTransport.Response, what: String) -> String {
        "\(what): \(message(response))"
    }
}
