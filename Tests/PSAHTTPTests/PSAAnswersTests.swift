import NIOHTTP1
import OffboardingCore
import PSAHTTP
import Testing

/// How an adapter reads an answer: the body of a 2xx, or the contract's error in the PSA's words.
@Suite struct PSAAnswersTests {
    let answers = PSAAnswers(
        psa: "ConnectWise",
        mapping: PSAErrorMapping(unauthorized: "credentials refused", forbidden: "the role does not allow", notFound: "check base_url"),
        message: { "HTTP \($0.status): \(String(decoding: $0.body, as: UTF8.self))" })

    func response(_ status: Int, _ body: String = "", headers: HTTPHeaders = [:]) -> PSAHTTPTransport.Response {
        PSAHTTPTransport.Response(status: status, headers: headers, body: Array(body.utf8))
    }

    struct Company: Decodable, Equatable {
        var id: Int
    }

    @Test(arguments: [200, 201, 204, 299])
    func aSuccessIsItsBody(status: Int) throws {
        #expect(try answers.body(of: response(status, "{\"id\":3}"), what: "company 3") == Array("{\"id\":3}".utf8))
        #expect(try answers.decode(Company.self, of: response(status, "{\"id\":3}"), what: "company 3") == Company(id: 3))
    }

    @Test(arguments: [
        (401, OffboardingErrorCode.psaConnectionError, false, "credentials refused (company 3: HTTP 401: no)"),
        (403, .permissionDenied, false, "the role does not allow company 3: HTTP 403: no"),
        (404, .psaConnectionError, false, "not found; check base_url (company 3: HTTP 404: no)"),
        (400, .psaConnectionError, false, "company 3: HTTP 400: no"),
        (429, .psaConnectionError, true, "company 3: HTTP 429: no"),
        (500, .psaConnectionError, true, "company 3: HTTP 500: no"),
        (503, .psaConnectionError, true, "company 3: HTTP 503: no"),
    ])
    func anyOtherAnswerIsTheContractsError(status: Int, code: OffboardingErrorCode, retriable: Bool, message: String) {
        #expect(throws: PSAError(code: code, message: message, httpStatus: status, isRetriable: retriable)) {
            _ = try answers.body(of: response(status, "no"), what: "company 3")
        }
        #expect(throws: PSAError(code: code, message: message, httpStatus: status, isRetriable: retriable)) {
            _ = try answers.decode(Company.self, of: response(status, "no"), what: "company 3")
        }
    }

    /// A redirect is not followed, so that the credentials stay with the configured origin.
    @Test func aRedirectIsRefusedAndNamesOnlyWhereItLeads() throws {
        let moved = response(302, headers: ["Location": "https://elsewhere.example/login?token=secret"])
        do throws(PSAError) {
            _ = try answers.body(of: moved, what: "company 3")
            Issue.record("a redirect was read as an answer")
        } catch {
            #expect(error.code == .psaConnectionError && error.httpStatus == 302 && !error.isRetriable)
            #expect(error.message.contains("https://elsewhere.example") && !error.message.contains("secret"))
        }
    }

    @Test func anUnexpectedBodyIsAConnectionErrorNamingThePSA() {
        do throws(PSAError) {
            _ = try answers.decode(Company.self, of: response(200, "{\"name\":\"no id\"}"), what: "company 3")
            Issue.record("a body without an id was read")
        } catch {
            #expect(error.code == .psaConnectionError && error.message.hasPrefix("ConnectWise answered with an unexpected body"))
        }
    }

    /// A refused write: a 500 is a failed update worth repeating, a 400 a final one, a 401 still
    /// a connection error.
    @Test func aRefusedWriteIsTheUpdateError() {
        #expect(
            answers.updateError(for: response(500, "rule"), what: "configuration 9")
                == PSAError(code: .configUpdateFailed, message: "configuration 9: HTTP 500: rule", httpStatus: 500, isRetriable: true))
        #expect(
            answers.updateError(for: response(400, "bad"), what: "configuration 9")
                == PSAError(code: .configUpdateFailed, message: "configuration 9: HTTP 400: bad", httpStatus: 400))
        #expect(answers.updateError(for: response(401), what: "configuration 9").code == .psaConnectionError)
    }
}
