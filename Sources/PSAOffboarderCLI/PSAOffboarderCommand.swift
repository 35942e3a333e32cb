import ArgumentParser
import Foundation
import Logging
import OffboardingService

@main
struct PSAOffboarderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psa-offboarder",
        abstract: "Deactivates the PSA configurations of offboarded clients, driven by Kafka events.",
        discussion: """
            Example:
              psa-offboarder demo
              psa-offboarder consume --config /etc/psa-offboarder/config.yaml
              psa-offboarder sweep --config /etc/psa-offboarder/config.yaml
              psa-offboarder restore --config /etc/psa-offboarder/config.yaml --event-id 5f0c2b1e-7d1a-4c55-9a0e-2b7f1b3c9d10
            """,
        version: Version.description,
        subcommands: [ConsumeCommand.self, RunCommand.self, SweepCommand.self, RestoreCommand.self, NotifyCommand.self, DemoCommand.self, SandboxCommand.self, KafkaSandboxCommand.self]
    )

    /// Parses and runs, mapping failures to the contract's exit codes: 2 for bad usage or
    /// configuration (one line on stderr, no stack trace), 1 for other failures.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("psa-offboarder: \(error)\n".utf8))
            Foundation.exit(2)
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("psa-offboarder: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let exitCode = exitCode(for: error)
            let message = fullMessage(for: error)
            if exitCode == .success {
                print(message)
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data("psa-offboarder: \(message)\n".utf8))
            Foundation.exit(exitCode == .validationFailure ? 2 : 1)
        }
    }
}

/// A flag combination that parsing alone cannot reject.
struct UsageError: Error {
    var message: String
}

enum CLILogging {
    /// Logs go to stderr so that stdout carries only results; the level comes from LOG_LEVEL.
    static func bootstrap(defaultLevel: Logger.Level) -> Logger {
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
        LoggingSystem.bootstrap(
            { label, metadataProvider in
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: metadataProvider)
                handler.logLevel = level
                return handler
            }, metadataProvider: ServiceTracing.loggingMetadataProvider)
        return Logger(label: "psa-offboarder")
    }
}
