import Foundation
import OffboardingCore

/// The cost of reading hostile input, at two sizes: each parser on the filter path and the retry
/// topic's limit check, fed an event or a record whose keys are all different (what made the
/// prefilter's old key check quadratic). Work linear in the input shows as the same nanoseconds per
/// byte at both sizes: the ratio of the per-byte costs is near 1, where quadratic work would make it
/// the ratio of the sizes (16 here). The prefilter and the event decoder stop at their bounds (16
/// extension attributes, 4,096 keys and values), so their cost per byte falls as the event grows;
/// the JSON reader under a record's limits reads every key of the larger document.
func hostileInputBenchmark() {
    print("== hostile input: an event and a retry record of distinct keys, 64 KiB and 1 MiB; cost per byte")
    let prefilter = StatusPrefilter(psa: .connectwise, offboardedStatuses: ["Inactive", "Offboarded"])
    let small = 64 << 10
    let large = 1 << 20
    let cases: [(name: String, input: (Int) -> [UInt8], read: ([UInt8]) -> Void)] = [
        ("status prefilter (on the poll thread)", manyKeysEvent, { _ = prefilter.isFiltered($0) }),
        ("event decoder", manyKeysEvent, { _ = try? CloudEventDecoder.decode(value: $0, headers: [:]) }),
        ("record limit check (retry, approvals)", manyKeysRecord, { _ = try? JSONLimits.record.check($0) }),
        ("JSON reader, every key built (record limits)", manyKeysRecord, { _ = try? JSONValue.parse($0, limits: .record) }),
    ]
    for (name, input, read) in cases {
        let perByte = [small, large].map { size -> Double in
            let bytes = input(size)
            let seconds = fastest(of: 5) { read(bytes) }
            return seconds * 1e9 / Double(bytes.count)
        }
        print("\(name): \(format2(perByte[0])) ns/byte at 64 KiB, \(format2(perByte[1])) ns/byte at 1 MiB | ratio \(format2(perByte[1] / perByte[0])) (16 would be quadratic)")
    }
}

/// A structured-mode event of `size` bytes whose extension attributes are all different.
private func manyKeysEvent(_ size: Int) -> [UInt8] {
    var bytes = Array(#"{"specversion":"1.0","id":"e","source":"psa/connectwise/bench","type":"psa.company.status_changed","#.utf8)
    let tail = Array(#""data":{"psa":"connectwise","company_id":"1","status":"Active"}}"#.utf8)
    var key = 0
    while bytes.count + tail.count < size - 16 {
        // A plain value the prefilter vouches for: it then looks at the next key.
        bytes += Array(#""k\#(key)":true,"#.utf8)
        key += 1
    }
    return bytes + tail
}

/// A record of `size` bytes that is one object of distinct keys.
private func manyKeysRecord(_ size: Int) -> [UInt8] {
    var bytes: [UInt8] = [UInt8(ascii: "{")]
    var key = 0
    while bytes.count < size - 16 {
        bytes += Array(#""k\#(key)":1,"#.utf8)
        key += 1
    }
    return bytes + Array(#""end":1}"#.utf8)
}

/// The fastest of `runs` timings of `work`, in seconds: the least disturbed by other work on the machine.
private func fastest(of runs: Int, _ work: () -> Void) -> Double {
    (0..<runs).map { _ in
        let start = ContinuousClock.now
        work()
        return (ContinuousClock.now - start) / .seconds(1)
    }.min() ?? 0
}
