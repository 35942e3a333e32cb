import Crypto
import Foundation
import Logging
import Metrics
import OffboardingKafka
import Synchronization

/// What the service writes to its own topics it signs, and what it reads back from them it trusts
/// only when it signed it: a record on the retry or approvals topic, or a result, without a valid
/// signature is not the service's, whoever could write to the topic.
///
/// The signature is the header `offboarding.signature: v1,<key id>,<base64 MAC>`, the MAC an
/// HMAC-SHA256 under one of `security.signing_keys` (the first signs, every one verifies, so keys
/// rotate without downtime) over the record as it travels:
///
///     "psa-offboarder record v1\n"
///     field(topic) field(key) field(value)
///     u32(count of signed headers) then field(name) field(value) for each, in record order
///
/// where `field(x)` is x's length as a 4-byte big-endian number and its bytes, or `FF FF FF FF`
/// when x is absent or empty (a null key or value, a header without a value: librdkafka hands an
/// empty one back as absent), and every header is signed
/// but the signature itself and the W3C trace headers (`traceparent`, `tracestate`), which
/// tracing middleware may rewrite. The key id is the first 8 bytes of SHA-256 of
/// `"psa-offboarder key id v1\n"` and the key, in hex: it names the key without revealing it.
public struct RecordSigner: Sendable {
    public static let header = "offboarding.signature"
    static let unsigned: Set<String> = [header, "traceparent", "tracestate"]

    private struct Key: Sendable {
        var id: String
        var bytes: [UInt8]
    }

    private let keys: [Key]

    /// The shortest key accepted: 32 bytes, a SHA-256 block's worth of guessing.
    public static let minimumKeyLength = 32

    /// - Parameter keys: the first signs; every one verifies. Must not be empty.
    public init(keys: [[UInt8]]) {
        precondition(!keys.isEmpty, "a record signer needs a key")
        self.keys = keys.map { Key(id: Self.keyID($0), bytes: $0) }
    }

    /// A key of 32 random bytes, base64: for `demo`, the sandboxes and tests.
    public static func randomKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    public static func keyID(_ key: [UInt8]) -> String {
        Array(SHA256.hash(data: Array("psa-offboarder key id v1\n".utf8) + key).prefix(8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The first key's bytes: what other server secrets (the console's session key) are derived from.
    public var primaryKey: [UInt8] { keys[0].bytes }

    /// Signs the record with the first key, replacing any signature it carried (a record moved to
    /// another topic, or dead-lettered, is signed anew for where it goes).
    public func sign(_ record: inout KafkaOutgoingRecord) {
        record.headers.removeAll { $0.key == Self.header }
        let key = keys[0]
        let mac = Self.mac(key: key.bytes, topic: record.topic, recordKey: record.key, value: record.value, headers: record.headers)
        record.headers.append(KafkaHeader(key: Self.header, string: "v1,\(key.id),\(Data(mac).base64EncodedString())"))
    }

    /// Whether the record carries a valid signature under one of the keys.
    public func verifies(_ record: KafkaRecord) -> Bool {
        guard let signature = record.headers.last(named: Self.header)?.stringValue else { return false }
        let parts = signature.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let given = Data(base64Encoded: String(parts[2])),
            let key = keys.first(where: { $0.id == parts[1] })
        else { return false }
        // A comparison in constant time.
        return HMAC<SHA256>.isValidAuthenticationCode(
            given, authenticating: Self.message(topic: record.topic, key: record.key, value: record.value, headers: record.headers),
            using: SymmetricKey(data: key.bytes))
    }

    private static func mac(key: [UInt8], topic: String, recordKey: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message(topic: topic, key: recordKey, value: value, headers: headers), using: SymmetricKey(data: key)))
    }

    /// The bytes the MAC covers (see the type's description).
    static func message(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader]) -> [UInt8] {
        var message = Array("psa-offboarder record v1\n".utf8)
        func number(_ value: Int) {
            let count = UInt32(clamping: value)
            message += [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
        }
        func field(_ bytes: [UInt8]?) {
            guard let bytes, !bytes.isEmpty else {
                message += [0xFF, 0xFF, 0xFF, 0xFF]
                return
            }
            number(bytes.count)
            message += bytes
        }
        field(Array(topic.utf8))
        field(key)
        field(value)
        let signed = headers.filter { !unsigned.contains($0.key) }
        number(signed.count)
        for header in signed {
            field(Array(header.key.utf8))
            field(header.value)
        }
        return message
    }
}

extension RecordSigner {
    /// Whether a record read back from the service's own topics (by the approvals store, the result
    /// ledger, a restore's read) may be used: one without a valid signature is left out, counted in
    /// `psa_offboarder_unsigned_records_ignored_total{reader}` and logged, the first and then every
    /// thousandth of each reader (a topic written before signing existed holds thousands).
    func admits(_ record: KafkaRecord, reader: String, logger: Logger) -> Bool {
        guard !verifies(record) else { return true }
        Counter(label: "psa_offboarder_unsigned_records_ignored_total", dimensions: [("reader", reader)]).increment()
        let seen = Self.ignored.withLock { counts in
            counts[reader, default: 0] += 1
            return counts[reader, default: 0]
        }
        if seen % 1000 == 1 {
            logger.warning(
                "a record without a valid signature of this service was ignored",
                metadata: [
                    "kafka.topic": "\(record.topic)", "kafka.partition": "\(record.partition)", "kafka.offset": "\(record.offset)",
                    "signing.ignored": "\(seen)",
                ])
        }
        return false
    }

    /// Unsigned records ignored so far, per reader, for the log's sampling.
    private static let ignored = Mutex<[String: Int]>([:])
}
