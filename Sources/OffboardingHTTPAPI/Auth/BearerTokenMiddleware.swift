import Foundation
import Hummingbird

/// Lets a request through only with `Authorization: Bearer <token>` for one of the configured
/// tokens. With none configured, every request is refused: the API is closed, not open. An
/// address that keeps failing is throttled (429 with `Retry-After`) before its token is looked at.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = OffboardingRequestContext

    let tokens: [String]
    let throttle: FailedAuthThrottle

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let address = context.clientAddress
        if let wait = throttle.retryAfter(address) {
            return JSONResponses.error(
                .tooManyRequests, code: "TooManyFailures", "too many failed tokens from this address; try again later",
                headers: [.retryAfter: FailedAuthThrottle.seconds(wait)])
        }
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"psa-offboarder\""]
        guard let authorization = request.headers[.authorization], authorization.count > 7,
            authorization.prefix(7).lowercased() == "bearer "
        else {
            return JSONResponses.error(.unauthorized, code: "Unauthorized", "a bearer token is required (Authorization: Bearer <token>)", headers: challenge)
        }
        let token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard !tokens.isEmpty, ConstantTime.matchesAny(token, tokens) else {
            throttle.failed(address)
            return JSONResponses.error(.unauthorized, code: "Unauthorized", "the bearer token is not valid", headers: challenge)
        }
        return try await next(request, context)
    }
}
