/// A failure talking to a PSA, already classified into the contract's codes.
public struct PSAError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: OffboardingErrorCode
    public var message: String
    /// The HTTP status, when the PSA answered.
    public var httpStatus: Int?
    /// True for failures that may succeed when tried again (connection errors, 429, 5xx).
    public var isRetriable: Bool

    public init(code: OffboardingErrorCode, message: String, httpStatus: Int? = nil, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.isRetriable = isRetriable
    }

    public var description: String {
        "\(code): \(message)" + (httpStatus.map { " (HTTP \($0))" } ?? "")
    }
}

extension Result where Failure == PSAError {
    /// The outcome of a PSA call as a value, so that calls can run side by side (`async let`)
    /// without losing the typed error.
    public static func of(_ call: () async throws(PSAError) -> Success) async -> Result<Success, PSAError> {
        do {
            return .success(try await call())
        } catch {
            return .failure(error)
        }
    }
}
