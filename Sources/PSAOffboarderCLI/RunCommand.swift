import ArgumentParser
import Foundation
import OffboardingCore
import OffboardingService

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Offboard one client now: print the result and publish it to the results topic.",
        discussion: """
            At a terminal the result is a summary and a table of the configurations (id, name, \
            type, previous status, action), with progress on stderr; piped, it is the result JSON. \
            Exits 0 when the result's success is true, 1 when not, 2 on bad usage or configuration.

            Example:
              psa-offboarder run --config config.yaml --client-id 12345 --dry-run --reason "Contract ended"
            """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String
    @Option(name: .customLong("client-id"), help: "The client's company id in the PSA.")
    var clientID: String?
    @Option(name: .customLong("client-name"), help: "The client's exact company name in the PSA.")
    var clientName: String?
    @Flag(name: .customLong("dry-run"), help: "List what would be deactivated; change nothing.")
    var dryRun = false
    @Flag(
        name: .customLong("require-approval"),
        help: "List the configurations as pending approval and keep the approval on the approvals topic; change nothing until it is approved.")
    var requireApproval = false
    @Flag(name: .customLong("include-archived"), help: "List archived (already inactive) configurations too.")
    var includeArchived = false
    @Option(name: .long, help: "Why the client is offboarded; kept in the result.")
    var reason: String?
    @Option(
        name: .customLong("offboarded-status"),
        help: "A company status that counts as offboarded (repeatable); only some of criteria.offboarded_statuses, unless criteria.allow_request_override.")
    var offboardedStatuses: [String] = []
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (clientID == nil) != (clientName == nil) else {
            throw ValidationError("give exactly one of --client-id and --client-name")
        }
        if let clientID, clientID.isEmpty { throw ValidationError("--client-id is empty") }
        if let clientName, clientName.isEmpty { throw ValidationError("--client-name is empty") }
    }

    func run() async throws {
        let configuration = try OffboarderConfiguration.load(file: config)
        let logger = CLILogging.bootstrap(defaultLevel: .warning)
        let overrides = OffboardingOptions.Overrides(
            dryRun: dryRun ? true : nil, requireApproval: requireApproval ? true : nil, includeArchived: includeArchived ? true : nil,
            reason: reason, offboardedStatuses: offboardedStatuses.isEmpty ? nil : offboardedStatuses)
        let request = OffboardingRequest(
            eventID: UUID().uuidString.lowercased(), trigger: .manual,
            client: clientID.map(ClientReference.id) ?? .name(clientName ?? ""), options: overrides.resolved(defaults: configuration.defaults))
        let progress = output.showsProgress ? ProgressLine(verb: request.options.dryRun ? "checked" : "written") : nil
        let run = try await ManualCommands.run(request, configuration: configuration, logger: logger, progress: progress?.observe)
        await progress?.finish()
        // Printed whatever happened to publishing: the PSA has been changed, and this is what changed.
        try output.print(run.result)
        if let failure = run.publishFailure {
            FileHandle.standardError.write(Data("psa-offboarder: \(failure)\n".utf8))
            throw ExitCode(1)
        }
        if !run.result.success { throw ExitCode(1) }
    }
}
