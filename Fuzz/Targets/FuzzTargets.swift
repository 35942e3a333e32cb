import Foundation
import Logging
import NIOHTTP1
import OffboardingCore
import OffboardingHTTPAPI
import OffboardingService
import PSAAutotask
import PSAConnectWise
import PSAHTTP
import PSAHalo

/// Every parser of input from outside, as a function of raw bytes: what `scripts/fuzz` runs under
/// libFuzzer and what the regression suite replays from `Fuzz/Corpus` and `Fuzz/Crashes`. A
/// target must never trap, whatever the bytes; throwing (refusing the input) is the expected
/// outcome for most of them.
public enum FuzzTargets {
    public typealias Target = @Sendable ([UInt8]) -> Void

    static let prefilterStatuses = ["Inactive", "Offboarded"]
    static let prefilter = StatusPrefilter(psa: .connectwise, offboardedStatuses: prefilterStatuses)

    public static let all: [String: Target] = [
        "cloudevent-structured": { bytes in
            let event = try? CloudEventDecoder.decode(value: bytes, headers: ["content-type": "application/cloudevents+json"])
            // The span's trace, read without decoding, is the event's own whenever the event decodes.
            let trace = CloudEventDecoder.traceParent(value: bytes, headers: [:])
            if let event { precondition(event.traceParent == trace, "the traceparent read without decoding differs from the event's") }
        },
        "cloudevent-binary": { bytes in
            let (headers, value) = FuzzInput.headersAndBody(bytes)
            var lowered: [String: String] = [:]
            for (name, text) in headers { lowered[name.lowercased()] = text }
            _ = try? CloudEventDecoder.decode(value: value, headers: lowered)
            _ = CloudEventDecoder.traceParent(value: value, headers: lowered)
        },
        // The prefilter must never call filtered what the full decoder would not: a disagreement traps.
        "status-prefilter": { bytes in
            guard prefilter.isFiltered(bytes) else { return }
            let event = try? CloudEventDecoder.decode(value: bytes, headers: ["content-type": "application/cloudevents+json"])
            let filtered = event.map {
                $0.psa == .connectwise && ($0.trigger == .event || $0.trigger == .webhook)
                    && !$0.options.resolved(defaults: .init(offboardedStatuses: prefilterStatuses)).isOffboarded(status: $0.status)
            }
            precondition(filtered == true, "the prefilter filtered an event the decoder does not")
        },
        "retry-request": { bytes in _ = try? RetryRequest.decode(bytes) },
        "approval-message": { bytes in _ = try? ApprovalMessage.decode(bytes) },
        // What a restore and the console read back from the results topic.
        "result-record": { bytes in _ = try? ResultEncoding.decode(bytes) },
        "webhook-connectwise": { bytes in
            if let payload = try? ConnectWiseCallbackPayload.parse(bytes) { _ = URL(string: payload.keyURL) }
        },
        "webhook-autotask": { bytes in _ = try? AutotaskWebhookPayload.parse(bytes) },
        "webhook-halopsa": { bytes in _ = try? HaloWebhookPayload.parse(bytes) },
        "api-offboarding": { bytes in _ = try? OffboardingRequestBody.parse(bytes) },
        "api-approval": { bytes in _ = try? ApprovalDecisionBody.parse(bytes) },
        "api-restore": { bytes in _ = try? RestoreRequestBody.parse(bytes) },
        "configuration": { bytes in
            guard let configuration = try? OffboarderConfiguration.parse(yaml: String(decoding: bytes, as: UTF8.self), environment: ["SECRET": "s", "SIGNING_KEY": "fuzz-signing-key-0123456789abcdef-0123"])
            else { return }
            // What the service derives from the settings at start and on every retry.
            _ = try? configuration.pipelineConfiguration()
            let http = configuration.psa.http
            let transport = PSAHTTPTransport(httpClient: .shared, configuration: http, logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })
            for attempt in 1...30 { _ = transport.retryDelay(after: attempt, retryAfter: nil) }
            _ = ContinuousClock.now + http.requestTimeout + http.budget + configuration.retryTopicMaxDelay + configuration.approvalLifetime
        },
        "connectwise-answers": { bytes in
            let response = FuzzInput.response(bytes)
            FuzzInput.commonHeaders(response, base: "https://api-na.myconnectwise.net/v4_6_release/apis/3.0")
            _ = ConnectWiseClient.errorMessage(response)
            let statuses = ConnectWiseClient.Statuses(inactiveID: 2, inactiveName: "Inactive", closedIDs: [2])
            if let page = try? PSAJSON.decode([ConnectWiseConfiguration].self, from: response.body, psa: "ConnectWise") {
                _ = page.map(statuses.map)
            }
            _ = try? PSAJSON.decode(ConnectWiseCompany.self, from: response.body, psa: "ConnectWise")
            _ = try? PSAJSON.decode([ConnectWiseConfigurationStatus].self, from: response.body, psa: "ConnectWise")
            _ = try? PSAJSON.decode([ConnectWiseCompanyStatus].self, from: response.body, psa: "ConnectWise")
            if let agreements = try? PSAJSON.decode([ConnectWiseAgreement].self, from: response.body, psa: "ConnectWise") {
                _ = agreements.map(ConnectWiseClient.contract(of:))
            }
            _ = try? PSAJSON.decode([ConnectWiseAddition].self, from: response.body, psa: "ConnectWise")
            _ = try? PSAJSON.decode([ConnectWiseTicket].self, from: response.body, psa: "ConnectWise")
        },
        "autotask-answers": { bytes in
            let response = FuzzInput.response(bytes)
            FuzzInput.commonHeaders(response, base: "https://webservices5.autotask.net/atservicesrest/v1.0")
            _ = AutotaskClient.errorMessage(response)
            _ = AutotaskClient.isThreadLimitError(response)
            if let page = try? PSAJSON.decode(AutotaskQueryResponse<AutotaskConfigurationItem>.self, from: response.body, psa: "Autotask"),
                let next = page.pageDetails?.nextPageUrl
            {
                _ = PSAOrigin.isWithin(next, base: "https://webservices5.autotask.net/atservicesrest/v1.0")
            }
            _ = try? PSAJSON.decode(AutotaskItemResponse<AutotaskCompany>.self, from: response.body, psa: "Autotask")
            _ = try? PSAJSON.decode(AutotaskPatchResponse.self, from: response.body, psa: "Autotask")
            if let zone = try? PSAJSON.decode(AutotaskZoneInformation.self, from: response.body, psa: "Autotask") { _ = PSAOrigin.refusal(of: zone.url) }
            _ = try? PSAJSON.decode(AutotaskEntityFields.self, from: response.body, psa: "Autotask")
            if let page = try? PSAJSON.decode(AutotaskQueryResponse<AutotaskContract>.self, from: response.body, psa: "Autotask") {
                _ = page.items.compactMap(\.endDate).map(PSADate.parse)
            }
            _ = try? PSAJSON.decode(AutotaskQueryResponse<AutotaskItemNote>.self, from: response.body, psa: "Autotask")
            _ = try? PSAJSON.decode(AutotaskQueryResponse<AutotaskContractService>.self, from: response.body, psa: "Autotask")
        },
        "halopsa-answers": { bytes in
            let response = FuzzInput.response(bytes)
            FuzzInput.commonHeaders(response, base: "https://acme.halopsa.com")
            _ = HaloClient.errorMessage(response)
            _ = HaloClient.refusedElements(response, count: HaloClient.Configuration.defaultBatchSize)
            if let page = try? PSAJSON.decode(HaloAssetPage.self, from: response.body, psa: "HaloPSA") { _ = page.assets.map(HaloClient.configuration(of:)) }
            if let token = try? PSAJSON.decode(HaloToken.self, from: response.body, psa: "HaloPSA") { _ = ContinuousClock.now + HaloClient.lifetime(of: token) }
            _ = try? PSAJSON.decode(HaloClientRecord.self, from: response.body, psa: "HaloPSA")
            _ = try? PSAJSON.decode(HaloClientList.self, from: response.body, psa: "HaloPSA")
            if let contracts = try? PSAJSON.decode(HaloContractList.self, from: response.body, psa: "HaloPSA") {
                _ = contracts.contracts.compactMap(\.end_date).map(HaloClient.parseDate)
            }
            _ = try? PSAJSON.decode(HaloRecurringInvoiceList.self, from: response.body, psa: "HaloPSA")
            _ = try? PSAJSON.decode(HaloTicketList.self, from: response.body, psa: "HaloPSA")
            _ = try? PSAJSON.decode([HaloClientType].self, from: response.body, psa: "HaloPSA")
        },
    ]
}

/// How a fuzz input becomes a record with headers or an HTTP answer: header lines (`name: value`)
/// up to the first empty line, then the body; for answers, the first line is the status.
enum FuzzInput {
    static func headersAndBody(_ bytes: [UInt8]) -> (headers: [(String, String)], body: [UInt8]) {
        var headers: [(String, String)] = []
        var index = 0
        while index < bytes.count {
            guard let end = bytes[index...].firstIndex(of: 0x0A) else { break }
            let line = String(decoding: bytes[index..<end], as: UTF8.self)
            index = end + 1
            if line.isEmpty { return (headers, Array(bytes[index...])) }
            if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return (headers, Array(bytes[index...]))
    }

    static func response(_ bytes: [UInt8]) -> PSAHTTPTransport.Response {
        var (lines, body) = headersAndBody(bytes)
        // The status line comes first: "status: 429"; any number is taken as it is, as a socket could deliver it.
        let status = lines.first { $0.0 == "status" }.flatMap { Int($0.1) } ?? 200
        lines.removeAll { $0.0 == "status" }
        var headers = HTTPHeaders()
        // Only what an HTTP parser hands over: header names are tokens (RFC 9110 §5.1).
        for (name, value) in lines where !name.isEmpty && name.utf8.allSatisfy(isToken) { headers.add(name: name, value: value) }
        return PSAHTTPTransport.Response(status: status, headers: headers, body: body)
    }

    private static func isToken(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    /// The headers every adapter reads: `Retry-After` (as the transport waits it out), `Link`,
    /// `Location`, and the contract's error for the status.
    static func commonHeaders(_ response: PSAHTTPTransport.Response, base: String) {
        if let retryAfter = response.header("Retry-After"), let delay = PSAHTTPTransport.retryAfter(retryAfter) {
            _ = ContinuousClock.now + delay
        }
        if let link = response.header("Link"), let next = LinkHeader.url(forRelation: "next", in: link) {
            _ = PSAOrigin.isWithin(next, base: base)
        }
        _ = PSAErrorMapping(unauthorized: "u", forbidden: "f", notFound: "n").error(for: response, detail: "d")
        _ = PSAErrorMapping(unauthorized: "u", forbidden: "f", notFound: "n").updateError(for: response, detail: "d")
    }
}
