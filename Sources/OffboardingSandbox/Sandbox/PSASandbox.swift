import Foundation
import OffboardingCore
import OffboardingService
import PSAHTTP
import PSASimulators

/// Each PSA's simulator paired with the configuration pointing the real adapter at it, for
/// `sandbox`, `demo` and the contract tests. Each PSA is a `SandboxedPSA` in a file of its own,
/// listed once in `all`: a new PSA adds a file and an entry.
public enum PSASandbox {
    public enum Dataset: Sendable {
        /// The sample tenant of `demo` and `sandbox`.
        case sample
        /// No clients: tests add their own.
        case empty
        /// A JSON dataset in the simulator's format (`sandbox --data FILE`).
        case json(Data)
    }

    public struct Instance: Sendable {
        public var tenant: any SimulatedTenant
        /// The `psa` configuration for a simulator served at this root URL.
        public var configuration: @Sendable (_ serverURL: String) -> OffboarderConfiguration.PSA
        /// The configuration block a user would write, for `sandbox` to print.
        public var yaml: @Sendable (_ serverURL: String) -> String
    }

    /// The sandboxes answer as fast as they can and have no request quota: the PSAs' own pacing
    /// (Autotask's hour, HaloPSA's five minutes) would only slow demos and tests down.
    static let unpaced = PSAHTTPTransport.Configuration()

    static let all: [any SandboxedPSA.Type] = [ConnectWiseSandbox.self, AutotaskSandbox.self, HaloSandbox.self]

    public static func make(_ kind: PSAKind, dataset: Dataset = .sample) throws -> Instance {
        guard let psa = all.first(where: { $0.kind == kind }) else {
            throw SandboxUnavailable(kind: kind)
        }
        return try psa.make(dataset: dataset)
    }

    static func sandboxed(_ kind: PSAKind) -> (any SandboxedPSA.Type)? {
        all.first { $0.kind == kind }
    }
}

/// One PSA in the sandbox: its simulator, the configuration a user would write for it, and the
/// sample events `demo` sends it (their ids match the sample tenant's).
protocol SandboxedPSA {
    static var kind: PSAKind { get }
    static func make(dataset: PSASandbox.Dataset) throws -> PSASandbox.Instance
    static func sampleEvents(_ event: Demo.EventMaker) -> [Demo.SampleEvent]
    /// `criteria.company_types` of the demo's deployment for this PSA: what the sample events rely
    /// on beyond the offboarded statuses (a request may only narrow the criteria, never widen them).
    static var sampleCompanyTypes: [String] { get }
}

extension SandboxedPSA {
    static var sampleCompanyTypes: [String] { [] }
}

extension PSASandbox.Dataset {
    /// The dataset in the simulator's own format.
    func decode<T: Decodable>(_ type: T.Type, sample: T, empty: T) throws -> T {
        switch self {
        case .sample: sample
        case .empty: empty
        case .json(let data): try JSONDecoder().decode(type, from: data)
        }
    }
}

/// No sandbox for this PSA in this build.
struct SandboxUnavailable: Error, CustomStringConvertible {
    var kind: PSAKind
    var description: String { "no sandbox for \(kind)" }
}
