import Foundation
import OffboardingFuzzTargets
import OffboardingTestSupport
import Testing

/// Every committed fuzz input, run through its target in the regular suite: the seed corpus
/// (`Fuzz/Corpus`) and the inputs that once trapped the process (`Fuzz/Crashes`). Reaching the
/// end of this test is the assertion: a trap ends the test process.
@Suite struct FuzzRegressionTests {
    static let fuzzFolder = Repository.file("Fuzz")

    static func inputs(in folder: String) -> [(target: String, file: URL)] {
        let root = fuzzFolder.appendingPathComponent(folder)
        let targets = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return targets.sorted().flatMap { target in
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(target).path)) ?? []).sorted().map {
                (target, root.appendingPathComponent(target).appendingPathComponent($0))
            }
        }
    }

    @Test func everyTargetHasASeedCorpus() {
        let seeded = Set(Self.inputs(in: "Corpus").map(\.target))
        #expect(seeded == Set(FuzzTargets.all.keys))
    }

    @Test(arguments: ["Corpus", "Crashes"])
    func everyCommittedInputRunsThroughItsTargetWithoutTrapping(folder: String) throws {
        let inputs = Self.inputs(in: folder)
        #expect(!inputs.isEmpty)
        for (target, file) in inputs {
            let run = try #require(FuzzTargets.all[target], "\(folder)/\(target) is not a fuzz target")
            run(Array(try Data(contentsOf: file)))
        }
    }
}
