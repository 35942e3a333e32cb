import Foundation

/// The Standard Webhooks reference library (PyPI `standardwebhooks`, through
/// `scripts/verify-standard-webhook`): an implementation independent of the service's own that a
/// signed notice must satisfy. The secret goes by the environment, never the command line.
public enum StandardWebhookReference {
    public static func verify(headers: [String: String], body: [UInt8], secret: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = Repository.file("scripts/verify-standard-webhook")
        process.environment = ProcessInfo.processInfo.environment.merging(["WEBHOOK_SECRET": secret]) { $1 }
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let request = try JSONSerialization.data(withJSONObject: ["headers": headers, "body_base64": Data(body).base64EncodedString()])
        input.fileHandleForWriting.write(request)
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}
