#if FUZZING
import Foundation
import OffboardingFuzzTargets

/// The target this process fuzzes: `FUZZ_TARGET`, else the first argument. Kept out of
/// main.swift: libFuzzer's own `main` may be the one linked, and then main.swift never runs.
let fuzzedTarget: FuzzTargets.Target = {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? CommandLine.arguments.dropFirst().first ?? ""
    guard let target = FuzzTargets.all[name] else { fatalError("unknown fuzz target \(name)") }
    return target
}()

/// libFuzzer's callback, whichever `main` calls it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzedTarget(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#endif
