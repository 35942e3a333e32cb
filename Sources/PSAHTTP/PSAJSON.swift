import Foundation
import OffboardingCore

/// JSON in and out of PSA APIs, with failures as the contract's errors.
public enum PSAJSON {
    public static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], psa: String) throws(PSAError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw PSAError(code: .psaConnectionError, message: "\(psa) answered with an unexpected body: \(error)")
        }
    }

    public static func encode<T: Encodable>(_ value: T) throws(PSAError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw PSAError(code: .configUpdateFailed, message: "could not encode the request: \(error)")
        }
    }

    /// Whether `url` has the same scheme, host and port as `base`: credentials are only ever sent
    /// to the configured PSA, whatever a paging link in a response says.
    public static func sameOrigin(_ url: String, as base: String) -> Bool {
        guard let a = URLComponents(string: url), let b = URLComponents(string: base) else { return false }
        return a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased() && a.port == b.port
    }
}
