import Foundation
import OffboardingFuzzTargets

// `psa-offboarder-fuzz TARGET [libFuzzer flags] [CORPUS...]` under a -sanitize=fuzzer build (see
// scripts/fuzz); in an ordinary build, `psa-offboarder-fuzz TARGET FILE-OR-FOLDER...` replays
// inputs through the target, to reproduce a crash file.
let arguments = CommandLine.arguments
guard arguments.count >= 2, let target = FuzzTargets.all[arguments[1]] else {
    FileHandle.standardError.write(Data("usage: psa-offboarder-fuzz TARGET ...; targets: \(FuzzTargets.all.keys.sorted().joined(separator: ", "))\n".utf8))
    exit(2)
}

#if FUZZING
import CFuzzerDriver

// libFuzzer reads its own flags and corpus folders; the target name is ours, so it is dropped.
var driverArguments = [arguments[0]] + arguments.dropFirst(2)
var argc = CInt(driverArguments.count)
var cStrings = driverArguments.map { strdup($0) } + [nil]
let status = cStrings.withUnsafeMutableBufferPointer { buffer -> CInt in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzOneInput($0, $1) }
}
exit(status)
#else
var count = 0
for path in arguments.dropFirst(2) {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
    let files = isFolder.boolValue ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { "\(path)/\($0)" } : [path]
    for file in files {
        guard let data = FileManager.default.contents(atPath: file) else { continue }
        target(Array(data))
        count += 1
    }
}
print("\(arguments[1]): \(count) inputs replayed, none trapped")
#endif
