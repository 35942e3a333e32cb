import Foundation
import OffboardingCore

/// JSON in and out of PSA APIs, with failures as the contract's errors.
public enum PSAJSON {
    public static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], psa: String) throws(PSAError) -> T {
        do throws(JSONLimitExceeded) {
            try JSONLimits.psaAnswer.check(body)
        } catch {
            throw PSAError(code: .psaConnectionError, message: "\(psa) answered with a body that is refused: \(error)")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw PSAError(code: .psaConnectionError, message: "\(psa) answered with an unexpected body: \(error)")
        }
    }

    /// What an answer says when it can be read as `T` (an error body, say); nil when it cannot.
    public static func decodeIfPossible<T: Decodable>(_ type: T.Type, from body: [UInt8]) -> T? {
        guard (try? JSONLimits.psaAnswer.check(body)) != nil else { return nil }
        return try? JSONDecoder().decode(type, from: Data(body))
    }

    public static func encode<T: Encodable>(_ value: T) throws(PSAError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw PSAError(code: .configUpdateFailed, message: "could not encode the request: \(error)")
        }
    }
}
