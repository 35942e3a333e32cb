import Foundation
import Logging
import OffboardingCore

let logger: Logger = {
    var logger = Logger(label: "psa-offboarder-bench")
    logger.logLevel = ProcessInfo.processInfo.environment["BENCH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
    return logger
}()

func format(_ value: Double) -> String { String(format: "%.0f", value) }

func format2(_ value: Double) -> String { String(format: "%.2f", value) }

/// How often the pacer lowered its rate, and how many 429s it judged not caused by it.
func pacingCounts(_ pacing: PSAPacing?) -> String {
    "\(pacing?.slowDowns ?? 0) slow-downs, \(pacing?.refusalsNotOurs ?? 0) refusals judged not ours"
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
