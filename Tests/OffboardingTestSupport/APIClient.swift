import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffboardingCore
import Testing
import Yams

/// Real HTTP requests to the running service, for the API, health and webhook tests.
public struct APIResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var headers: [(String, String)]

    public init(status: Int, body: [UInt8], headers: [(String, String)]) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:] }
    public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

public enum APIClient {
    public static func call(
        _ method: HTTPMethod, _ url: String, token: String? = PipelineHarness.apiToken, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> APIResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return APIResponse(status: Int(response.status.code), body: Array(bytes.readableBytesView), headers: response.headers.map { ($0.name, $0.value) })
    }

    public static func json(_ object: Any) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// Polls `GET /v1/offboardings/{id}` until `condition` holds for the result.
    public static func result(
        _ harness: PipelineHarness, eventID: String, timeout: Duration = .seconds(60), until condition: (OffboardingResult) -> Bool = { _ in true }
    ) async throws -> OffboardingResult {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let response = try await call(.GET, "\(harness.apiBaseURL)/v1/offboardings/\(eventID)")
            if response.status == 200 {
                let result = try ValidatedResult.decode(response.body)
                if condition(result) { return result }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw SchemaError("no matching result for \(eventID) within \(timeout)")
    }
}

public struct SchemaError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `schemas/openapi.yaml`, to check what the running server answers against what it documents.
public struct OpenAPIDocument {
    public let document: JSONValue
    public let validator: JSONSchemaValidator

    public init() throws {
        let url = JSONSchemaValidator.schemasDirectory.appendingPathComponent("openapi.yaml")
        let loaded = try Yams.load(yaml: String(contentsOf: url, encoding: .utf8))
        let data = try JSONSerialization.data(withJSONObject: loaded as Any)
        document = try JSONValue.parse(Array(data), limits: .result)
        validator = JSONSchemaValidator(document: document)
    }

    /// What is wrong with this answer for this route, by the document; empty when nothing.
    public func problems(path: String, method: String, response: APIResponse) -> [String] {
        guard case .object(let root) = document, case .object(let paths)? = root["paths"], case .object(let item)? = paths[path],
            case .object(let operation)? = item[method.lowercased()], case .object(let responses)? = operation["responses"]
        else { return ["\(method) \(path) is not documented"] }
        guard case .object(let documented)? = responses[String(response.status)] else {
            return ["\(method) \(path) answered \(response.status), which is not documented"]
        }
        guard case .object(let content)? = documented["content"], case .object(let media)? = content["application/json"],
            let schema = media["schema"]
        else { return [] }
        let contentType = response.headers.first { $0.0.lowercased() == "content-type" }?.1 ?? ""
        guard contentType.hasPrefix("application/json") else { return ["\(method) \(path) \(response.status): content-type \(contentType)"] }
        if case .object(let reference) = schema, case .string(let file)? = reference["$ref"], !file.hasPrefix("#") {
            guard let external = try? JSONSchemaValidator(schemaFile: file) else { return ["cannot load \(file)"] }
            return external.problems(in: response.body).map { "\(method) \(path) \(response.status): \($0)" }
        }
        return validator.problems(in: response.body, schema: schema).map { "\(method) \(path) \(response.status): \($0)" }
    }
}

extension PipelineHarness {
    /// Restores an offboarding through `POST /v1/offboardings/{id}/restore` of the running service,
    /// checks the answer against the API document, and waits for the restore's result.
    public func restore(_ eventID: String, body: [String: Any] = [:]) async throws -> OffboardingResult {
        let response = try await APIClient.call(.POST, "\(apiBaseURL)/v1/offboardings/\(eventID)/restore", body: APIClient.json(body))
        try #require(response.status == 202, "\(String(decoding: response.body, as: UTF8.self))")
        #expect(try OpenAPIDocument().problems(path: "/v1/offboardings/{event_id}/restore", method: "POST", response: response) == [])
        #expect(response.json["restores"] as? String == eventID)
        let id = try #require(response.json["event_id"] as? String)
        return try await result(for: id).result
    }
}
