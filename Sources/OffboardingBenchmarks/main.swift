import Foundation
// Prints figures measured side by side in one run; the machine is shared and noisy, so compare the
// ratios, not the absolute numbers.
//
// Usage: psa-offboarder-bench [BENCHMARK...] [events] [configs] [partitions]
// BENCHMARK: filter, deactivation, halo, pacing, run, hostile, sweep, budget, hotpath (all when none is named).

let names = CommandLine.arguments.dropFirst().filter { Int($0) == nil }
let numbers = CommandLine.arguments.dropFirst().compactMap(Int.init)
let eventCount = numbers.first ?? 120_000
let configCount = numbers.dropFirst().first ?? 1_000
let partitionCount = numbers.dropFirst(2).first ?? 16
let known = ["filter", "deactivation", "halo", "pacing", "run", "hostile", "sweep", "budget", "hotpath"]
if let unknown = names.first(where: { !known.contains($0) }) {
    print("unknown benchmark \(unknown); one of \(known.joined(separator: ", "))")
    exit(2)
}
let selected = names.isEmpty ? known : Array(names)

for name in selected {
    switch name {
    case "filter": try await filterPathBenchmark(eventCount: eventCount, partitionCount: partitionCount)
    case "deactivation": try await deactivationBenchmark(configCount: configCount)
    case "halo": try await haloBatchBenchmark()
    case "pacing": try await unknownLimitBenchmark()
    case "run": try await runCommandBenchmark(configCount: configCount)
    case "hostile": hostileInputBenchmark()
    case "sweep": try await sweepBenchmark()
    case "budget": try await sharedBudgetBenchmark()
    case "hotpath": try await hotPathBenchmark()
    default: break
    }
    print("")
}
