import Foundation
import Logging

/// Runs one offboarding against a PSA: re-read the company, list its configurations, then preview or
/// deactivate them, and describe it all as an `OffboardingResult`. Never throws: every failure is in
/// the result.
public struct Offboarder: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// How many deactivations of one client run at once.
        public var maxConcurrentUpdates: Int

        public init(maxConcurrentUpdates: Int = 8) {
            self.maxConcurrentUpdates = max(1, maxConcurrentUpdates)
        }
    }

    public let psa: any PSAClient
    public let configuration: Configuration
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let progress: @Sendable () -> Void

    /// - Parameter progress: called after each PSA call that returns, so that a long offboarding
    ///   shows it is moving.
    public init(
        psa: any PSAClient, configuration: Configuration = .init(), logger: Logger, now: @escaping @Sendable () -> Date = Date.init,
        progress: @escaping @Sendable () -> Void = {}
    ) {
        self.psa = psa
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.progress = progress
    }

    /// The same run with a progress callback.
    public func reportingProgress(to progress: @escaping @Sendable () -> Void) -> Offboarder {
        Offboarder(psa: psa, configuration: configuration, logger: logger, now: now, progress: progress)
    }

    /// A run's result, and the configurations whose update failed in a way that may pass later
    /// (connection errors, 429, 502-504 after the in-process retries): those go to the retry topic.
    public struct Outcome: Sendable {
        public var result: OffboardingResult
        public var retriable: [PSAConfiguration]
    }

    public func run(_ request: OffboardingRequest) async -> OffboardingResult {
        await runDetailed(request).result
    }

    /// Deactivates exactly these configurations again, for a retry request (attempt 2 and on),
    /// after checking that the client is still offboarded.
    public func retry(_ configurations: [PSAConfiguration], for request: OffboardingRequest, attempt: Int) async -> Outcome {
        await runDetailed(request, only: configurations, attempt: attempt)
    }

    public func runDetailed(_ request: OffboardingRequest) async -> Outcome {
        await runDetailed(request, only: nil, attempt: nil)
    }

    private func runDetailed(_ request: OffboardingRequest, only retrying: [PSAConfiguration]?, attempt: Int?) async -> Outcome {
        var logger = self.logger
        logger[metadataKey: "offboarding.event.id"] = "\(request.eventID)"
        logger[metadataKey: "offboarding.client"] = "\(request.client)"
        let options = request.options
        let fallbackID: String =
            switch request.client {
            case .id(let id): id
            case .name: ""
            }
        var result = OffboardingResult(
            success: false, eventID: request.eventID, trigger: request.trigger, psa: psa.kind, clientID: fallbackID,
            clientName: request.clientNameHint ?? { if case .name(let name) = request.client { return name } else { return nil } }(),
            timestamp: Timestamp.string(now()), dryRun: options.dryRun, reason: options.reason)
        result.attempt = attempt
        var retriable: [PSAConfiguration] = []

        let company: PSACompany
        let listed: [PSAConfiguration]
        do {
            company = try await psa.findCompany(request.client)
            result.clientID = company.id
            result.clientName = company.name
            guard company.statusNames.contains(where: options.isOffboarded(status:)) else {
                logger.info("client is not offboarded in the PSA; nothing touched", metadata: ["psa.company.status": "\(company.status)"])
                result.success = true
                result.warnings.append(
                    .init(
                        code: .clientNotOffboarded,
                        message: "client status in \(psa.kind) is \(company.statusNames.map { "\"\($0)\"" }.joined(separator: " / ")), not one of \(options.offboardedStatuses); nothing was changed"))
                return Outcome(result: result, retriable: [])
            }
            progress()
            if let retrying {
                listed = retrying
            } else {
                listed = try await psa.listConfigurations(companyID: company.id, includeArchived: options.includeArchived)
            }
            progress()
        } catch {
            logger.warning("offboarding failed before any change", metadata: ["psa.error": "\(error)"])
            result.errors.append(.init(code: error.code, message: error.message, timestamp: Timestamp.string(now())))
            return Outcome(result: result, retriable: [])
        }

        result.statistics.configsFound = listed.count
        if listed.isEmpty {
            result.warnings.append(.init(code: .configNotFound, message: "client \(company.id) has no configurations to deactivate"))
            result.success = true
            return Outcome(result: result, retriable: [])
        }

        let (inactive, active) = (listed.filter { !$0.isActive }, listed.filter(\.isActive))
        var outcomes: [String: OffboardingResult.Config] = [:]
        for config in inactive {
            outcomes[config.id] = .init(
                configID: config.id, configName: config.name, status: .inactive, previousStatus: .inactive, action: .skipped,
                psaStatus: config.psaStatus)
        }
        result.statistics.configsSkipped = inactive.count

        if options.dryRun || options.requireApproval {
            let action: OffboardingResult.Action = options.dryRun ? .wouldDeactivate : .pendingApproval
            for config in active {
                outcomes[config.id] = .init(
                    configID: config.id, configName: config.name, status: .active, previousStatus: .active, action: action,
                    psaStatus: config.psaStatus)
            }
            if !options.dryRun {
                result.warnings.append(
                    .init(code: .approvalRequired, message: "\(active.count) configurations wait for approval; nothing was changed"))
                result.approval = .init(
                    id: "approval-\(request.eventID)", state: "pending", expiresAt: Timestamp.string(now().addingTimeInterval(72 * 3600)))
            }
            result.configs = listed.compactMap { outcomes[$0.id] }
            result.success = true
            return Outcome(result: result, retriable: [])
        }

        let updates = await deactivateAll(active, logger: logger)
        for (config, outcome) in updates {
            switch outcome {
            case .success(let updated):
                if updated.isActive {
                    outcomes[config.id] = failed(config, code: .configUpdateFailed, message: "the PSA still reports the configuration active after the update", into: &result)
                } else {
                    result.statistics.configsDeactivated += 1
                    outcomes[config.id] = .init(
                        configID: config.id, configName: config.name, status: .inactive, previousStatus: .active, action: .deactivated,
                        psaStatus: updated.psaStatus)
                }
            case .failure(let error):
                // An update that could not get through is a failed update, whatever stopped it.
                let code: OffboardingErrorCode = error.code == .psaConnectionError ? .configUpdateFailed : error.code
                outcomes[config.id] = failed(config, code: code, message: error.description, into: &result)
                if error.isRetriable { retriable.append(config) }
            }
        }
        result.configs = listed.compactMap { outcomes[$0.id] }
        result.success = result.errors.isEmpty
        logger.info(
            "offboarding finished",
            metadata: [
                "offboarding.configs.found": "\(result.statistics.configsFound)",
                "offboarding.configs.deactivated": "\(result.statistics.configsDeactivated)",
                "offboarding.errors": "\(result.statistics.errors)",
            ])
        return Outcome(result: result, retriable: retriable)
    }

    private func failed(
        _ config: PSAConfiguration, code: OffboardingErrorCode, message: String, into result: inout OffboardingResult
    ) -> OffboardingResult.Config {
        result.statistics.errors += 1
        result.errors.append(.init(code: code, message: message, timestamp: Timestamp.string(now()), configID: config.id))
        return .init(
            configID: config.id, configName: config.name, status: .active, previousStatus: .active, action: .failed,
            psaStatus: config.psaStatus)
    }

    /// Deactivates concurrently, never more than `maxConcurrentUpdates` at once.
    private func deactivateAll(
        _ configs: [PSAConfiguration], logger: Logger
    ) async -> [(PSAConfiguration, Result<PSAConfiguration, PSAError>)] {
        let psa = self.psa
        let bound = configuration.maxConcurrentUpdates
        return await withTaskGroup(of: (Int, Result<PSAConfiguration, PSAError>).self) { group in
            var outcomes = [Result<PSAConfiguration, PSAError>?](repeating: nil, count: configs.count)
            var pending = configs.indices.makeIterator()
            for _ in 0..<bound {
                guard let index = pending.next() else { break }
                let config = configs[index]
                group.addTask { (index, await Self.deactivate(config, with: psa)) }
            }
            while let (index, outcome) = await group.next() {
                progress()
                if case .failure(let error) = outcome {
                    logger.warning("configuration update failed", metadata: ["psa.config.id": "\(configs[index].id)", "psa.error": "\(error)"])
                }
                outcomes[index] = outcome
                if let nextIndex = pending.next() {
                    let config = configs[nextIndex]
                    group.addTask { (nextIndex, await Self.deactivate(config, with: psa)) }
                }
            }
            return zip(configs, outcomes).compactMap { config, outcome in outcome.map { (config, $0) } }
        }
    }

    private static func deactivate(_ config: PSAConfiguration, with psa: any PSAClient) async -> Result<PSAConfiguration, PSAError> {
        do {
            return .success(try await psa.deactivate(config))
        } catch {
            return .failure(error)
        }
    }
}
