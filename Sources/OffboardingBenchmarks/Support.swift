import Foundation
import Logging

let logger: Logger = {
    var logger = Logger(label: "psa-offboarder-bench")
    logger.logLevel = ProcessInfo.processInfo.environment["BENCH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
    return logger
}()

func format(_ value: Double) -> String { String(format: "%.0f", value) }

func format2(_ value: Double) -> String { String(format: "%.2f", value) }

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
