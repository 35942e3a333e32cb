import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OffboardingCore

/// `POST /v1/offboardings`, `GET /v1/offboardings/{event_id}` (and its `configs.csv`),
/// `POST /v1/offboardings/{event_id}/restore`, `GET /v1/approvals?state=pending` and
/// `POST /v1/approvals/{approval_id}`.
struct OffboardingRoutes: Sendable {
    let backend: any OffboardingBackend
    let logger: Logger

    func register(on group: RouterGroup<OffboardingRequestContext>) {
        group.post("offboardings") { request, _ in try await self.create(request) }
        group.get("offboardings/:event_id") { _, context in self.show(context.parameters.get("event_id") ?? "") }
        group.get("offboardings/:event_id/configs.csv") { _, context in self.csv(context.parameters.get("event_id") ?? "") }
        group.get("approvals") { request, _ in self.pending(request) }
        group.post("offboardings/:event_id/restore") { request, context in try await self.restore(request, eventID: context.parameters.get("event_id") ?? "") }
        group.post("approvals/:approval_id") { request, context in try await self.decide(request, approvalID: context.parameters.get("approval_id") ?? "") }
    }

    /// Turns the request into a company-status-changed event (trigger `api`) on the events topic.
    func create(_ request: Request) async throws -> Response {
        let parsed: OffboardingRequestBody
        do {
            parsed = try OffboardingRequestBody.parse(try await JSONResponses.body(of: request))
        } catch let error as InvalidEventError {
            return JSONResponses.error(.badRequest, code: "InvalidRequest", error.message)
        }
        let (reference, options) = (parsed.client, parsed.options)
        if let requested = options.offboardedStatuses, let refusal = backend.policy.refusal(of: requested) {
            logger.warning("API offboarding refused: it widens the configured criteria", metadata: ["offboarding.error": "\(refusal)"])
            return JSONResponses.error(.badRequest, code: OffboardingErrorCode.criteriaOverrideRefused.rawValue, refusal)
        }
        let company: PSACompany
        do {
            company = try await backend.findCompany(reference)
        } catch {
            return Self.psaFailure(error)
        }
        let event = CompanyStatusChangedEvent(
            id: UUID().uuidString.lowercased(), source: "psa-offboarder/api", time: Timestamp.string(Date()), psa: backend.psa,
            companyID: company.id, companyName: company.name, status: company.status.isEmpty ? "unknown" : company.status, options: options,
            trigger: .api)
        do {
            try await backend.submit(event)
        } catch {
            logger.error("API offboarding not queued", metadata: ["kafka.error": "\(error)"])
            return JSONResponses.error(.serviceUnavailable, code: "KafkaUnavailable", "the event could not be written to Kafka; nothing was queued, try again")
        }
        logger.info("API offboarding queued", metadata: ["offboarding.event.id": "\(event.id)", "psa.company.id": "\(company.id)"])
        return JSONResponses.json(
            .accepted, ["event_id": event.id, "client_id": company.id, "client_name": company.name],
            headers: [.location: "/v1/offboardings/\(event.id)"])
    }

    /// Checks that the offboarding can be undone, then puts a restore event (trigger `restore`) on
    /// the events topic; the pipeline runs it and publishes its result like any other.
    func restore(_ request: Request, eventID: String) async throws -> Response {
        let body: RestoreRequestBody
        do {
            body = try RestoreRequestBody.parse(try await JSONResponses.body(of: request))
        } catch let error as InvalidEventError {
            return JSONResponses.error(.badRequest, code: "InvalidRequest", error.message)
        }
        guard !eventID.isEmpty, eventID.utf8.count <= 256 else {
            return JSONResponses.error(.badRequest, code: "InvalidRequest", "the event id must be 1 to 256 bytes")
        }
        let plan: RestorePlan
        do {
            plan = try await backend.restorePlan(for: eventID)
        } catch let refusal as RestoreRefusal {
            switch refusal.kind {
            case .unknown: return JSONResponses.error(.notFound, code: "NotFound", refusal.message)
            case .notRestorable: return JSONResponses.error(.conflict, code: OffboardingErrorCode.notRestorable.rawValue, refusal.message)
            }
        } catch let busy as BackendBusy {
            return JSONResponses.error(
                .tooManyRequests, code: "TooManyRestores", "too many restores are being looked up at once; nothing was queued, try again",
                headers: [.retryAfter: String(busy.retryAfterSeconds)])
        } catch {
            logger.error("restore not queued: the results topic could not be read", metadata: ["kafka.error": "\(error)"])
            return JSONResponses.error(.serviceUnavailable, code: "KafkaUnavailable", "the results topic could not be read; nothing was queued, try again")
        }
        let company: PSACompany
        do {
            company = try await backend.findCompany(.id(plan.clientID))
        } catch {
            return Self.psaFailure(error)
        }
        let event = CompanyStatusChangedEvent(
            id: UUID().uuidString.lowercased(), source: "psa-offboarder/api", time: Timestamp.string(Date()), psa: backend.psa,
            companyID: company.id, companyName: company.name, status: company.status.isEmpty ? "unknown" : company.status,
            options: .init(dryRun: body.dryRun, reason: body.reason), trigger: .restore, restores: eventID, requestedBy: body.requestedBy)
        do {
            try await backend.submit(event)
        } catch {
            logger.error("restore not queued", metadata: ["kafka.error": "\(error)"])
            return JSONResponses.error(.serviceUnavailable, code: "KafkaUnavailable", "the restore could not be written to Kafka; nothing was queued, try again")
        }
        logger.info("restore queued", metadata: ["offboarding.event.id": "\(event.id)", "offboarding.restores": "\(eventID)"])
        return JSONResponses.json(
            .accepted, ["event_id": event.id, "restores": eventID, "client_id": company.id, "configs": plan.configs.count],
            headers: [.location: "/v1/offboardings/\(event.id)"])
    }

    func show(_ eventID: String) -> Response {
        switch backend.latestResult(for: eventID) {
        case .found(let bytes): return JSONResponses.json(.ok, bytes)
        case .none: return JSONResponses.error(.notFound, code: "NotFound", "no result for event \(eventID) yet")
        case .notReady:
            return JSONResponses.error(.serviceUnavailable, code: "NotReady", "the results topic has not been read yet; try again", headers: [.retryAfter: "5"])
        }
    }

    /// The latest result's configurations as CSV.
    func csv(_ eventID: String) -> Response {
        switch backend.latestResult(for: eventID) {
        case .found(let bytes):
            guard let result = try? ResultEncoding.decode(bytes) else {
                return JSONResponses.error(.internalServerError, code: "InvalidResult", "the result of event \(eventID) on the results topic is not a result")
            }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"\(Self.fileName(eventID))-configs.csv\"",
                    // A client's configurations: no cache keeps them, and no browser reads them as anything but CSV.
                    .cacheControl: "no-store",
                    HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(string: ConfigurationsCSV.render(result))))
        case .none, .notReady:
            return show(eventID)
        }
    }

    /// An event id as part of a file name: ids are the caller's text.
    static func fileName(_ eventID: String) -> String {
        String(String.UnicodeScalarView(eventID.unicodeScalars.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" ? $0 : "_" }).prefix(64))
    }

    func pending(_ request: Request) -> Response {
        let state = request.uri.queryParameters["state"].map(String.init) ?? "pending"
        guard state == "pending" else {
            return JSONResponses.error(.badRequest, code: "InvalidRequest", "state must be pending: decided approvals are on the results topic, with their results")
        }
        guard let approvals = backend.pendingApprovals() else {
            return JSONResponses.error(.serviceUnavailable, code: "NotReady", "the approvals topic has not been read yet; try again", headers: [.retryAfter: "5"])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(ApprovalList(approvals: approvals))) ?? Data(#"{"approvals":[]}"#.utf8)
        return JSONResponses.json(.ok, Array(body))
    }

    private struct ApprovalList: Encodable {
        var approvals: [ApprovalRecord]
    }

    func decide(_ request: Request, approvalID: String) async throws -> Response {
        let body: ApprovalDecisionBody
        do {
            body = try ApprovalDecisionBody.parse(try await JSONResponses.body(of: request))
        } catch let error as InvalidEventError {
            return JSONResponses.error(.badRequest, code: "InvalidRequest", error.message)
        }
        switch await ApprovalDecisions(backend: backend, logger: logger).decide(
            approvalID: approvalID, verdict: body.verdict, approver: body.approver, comment: body.comment, keep: body.keep)
        {
        case .accepted(let eventID):
            return JSONResponses.json(.accepted, ["approval_id": approvalID, "decision": body.verdict.rawValue, "event_id": eventID])
        case .invalid(let message):
            return JSONResponses.error(.badRequest, code: "InvalidRequest", message)
        case .notFound:
            return JSONResponses.error(.notFound, code: "NotFound", "no approval \(approvalID)")
        case .alreadyDecided(let state):
            return JSONResponses.error(.conflict, code: "AlreadyDecided", "approval \(approvalID) is already \(state.rawValue)")
        case .decisionTaken(let decision):
            return JSONResponses.error(
                .conflict, code: "AlreadyDecided", "approval \(approvalID) was \(decision.decision == .approve ? "approved" : "rejected") by \(decision.approver); its run has not finished yet")
        case .expired(let at):
            return JSONResponses.error(.gone, code: "ApprovalExpired", "approval \(approvalID) expired at \(at)")
        case .kafkaUnavailable:
            return JSONResponses.error(.serviceUnavailable, code: "KafkaUnavailable", "the decision could not be written to Kafka; try again")
        }
    }

    static func psaFailure(_ error: PSAError) -> Response {
        switch error.code {
        case .clientNotFound: JSONResponses.error(.unprocessableContent, code: error.code.rawValue, error.message)
        case .permissionDenied: JSONResponses.error(.badGateway, code: error.code.rawValue, error.message)
        default: JSONResponses.error(.serviceUnavailable, code: error.code.rawValue, "the PSA could not be asked: \(error.message)", headers: [.retryAfter: "30"])
        }
    }
}
