import OffboardingCore

/// How a non-2xx answer to a PSA call becomes the contract's error: the same rules for every PSA,
/// in each PSA's own words.
public struct PSAErrorMapping: Sendable {
    /// "ConnectWise rejected the credentials", ...
    public var unauthorized: String
    /// "the API member's security role does not allow", ...: the detail follows.
    public var forbidden: String
    /// What to check when a call that should exist answers 404.
    public var notFound: String

    public init(unauthorized: String, forbidden: String, notFound: String) {
        self.unauthorized = unauthorized
        self.forbidden = forbidden
        self.notFound = notFound
    }

    /// 401 and unreachable states are `PSAConnectionError`, 403 `PermissionDenied`. Only the
    /// transport's transient statuses are retriable, which makes a failure before any change an
    /// outage to wait out; any other answer (400, 401, 404, a redirect) is final.
    public func error(for response: PSAHTTPTransport.Response, detail: String) -> PSAError {
        switch response.status {
        case 401:
            PSAError(code: .psaConnectionError, message: "\(unauthorized) (\(detail))", httpStatus: 401)
        case 403:
            PSAError(code: .permissionDenied, message: "\(forbidden) \(detail)", httpStatus: 403)
        case 404:
            PSAError(code: .psaConnectionError, message: "not found; \(notFound) (\(detail))", httpStatus: 404)
        case 300..<400:
            PSAError(
                code: .psaConnectionError,
                message: "the PSA answered with a redirect to \(PSAOrigin(response.header("Location") ?? "").map { "\($0.scheme)://\($0.host)" } ?? "elsewhere"), which is not followed so that credentials stay with the configured origin; check base_url (\(detail))",
                httpStatus: response.status)
        case _ where PSAHTTPTransport.transientStatuses.contains(response.status):
            PSAError(code: .psaConnectionError, message: detail, httpStatus: response.status, isRetriable: true)
        default:
            PSAError(code: .psaConnectionError, message: detail, httpStatus: response.status)
        }
    }

    /// A failed update: credentials, permissions and throttling keep their meaning; a 500 is
    /// `ConfigUpdateFailed` but retriable (in place and through the retry topic, since setting a
    /// status is idempotent); anything else (400, 404, 409, 422) says the request itself is wrong
    /// and is final.
    public func updateError(for response: PSAHTTPTransport.Response, detail: String) -> PSAError {
        switch response.status {
        case 500: PSAError(code: .configUpdateFailed, message: detail, httpStatus: 500, isRetriable: true)
        case 401, 403, 429, 502, 503, 504: error(for: response, detail: detail)
        default: PSAError(code: .configUpdateFailed, message: detail, httpStatus: response.status)
        }
    }

    /// The body of a 2xx response; anything else as the contract's error.
    public func body(of response: PSAHTTPTransport.Response, detail: @autoclosure () -> String) throws(PSAError) -> [UInt8] {
        guard (200..<300).contains(response.status) else { throw error(for: response, detail: detail()) }
        return response.body
    }
}
