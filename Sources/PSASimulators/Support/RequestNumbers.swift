import Foundation

/// A number in a request body parsed by `JSONSerialization`, as the whole number it must be for
/// an id or a picklist value; nil for anything else (a fraction, a string, a missing key).
enum RequestNumbers {
    static func integer(_ value: Any?) -> Int? {
        (value as? NSNumber).flatMap { Int(exactly: $0.doubleValue) }
    }
}
