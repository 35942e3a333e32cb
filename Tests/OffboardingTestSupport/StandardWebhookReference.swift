import Foundation

/// The Standard Webhooks reference library (PyPI `standardwebhooks`, through
/// `scripts/verify-standard-webhook`): an implementation independent of the service's own that a
/// signed notice must satisfy. The secret goes by the environment, never the command line; the
/// script runs through `OffboarderProcess` (posix_spawn), as Foundation's `Process` crashes now
/// and then in a test process (see `SpawnedChild`).
public enum StandardWebhookReference {
    public static func verify(headers: [String: String], body: [UInt8], secret: String) async throws -> (status: Int32, stdout: String, stderr: String) {
        let request = try JSONSerialization.data(withJSONObject: ["headers": headers, "body_base64": Data(body).base64EncodedString()])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("webhook-\(UUID().uuidString).json")
        try request.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = try OffboarderProcess(
            arguments: [file.path], environment: ["WEBHOOK_SECRET": secret], executable: Repository.file("scripts/verify-standard-webhook").path)
        let status = await process.waitForExit(timeout: .seconds(30))
        return (status, process.stdout, process.stderr)
    }
}
