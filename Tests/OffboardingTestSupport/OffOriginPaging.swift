import PSASimulators
import Testing

/// The paging-link guard end to end: another origin is served while `list` points the simulator's
/// next-page links at its host and lists through them. The listing must fail naming the refused
/// link, and the other origin must never see a request (the credentials would go with it).
public func expectPagingLinkToAnotherOriginNotFollowed(_ list: (_ otherHost: String) async throws -> Void) async throws {
    let elsewhere = ConnectWiseSimulator(data: .sample())
    let other = try await SimulatorServer.start(router: elsewhere.makeRouter(), logger: .test())
    do {
        try await list(other.baseURL.replacingOccurrences(of: "http://", with: ""))
        Issue.record("a listing that follows a link off its origin")
    } catch {
        #expect("\(error)".contains("paging link leaves the configured base URL"), "\(error)")
    }
    #expect(await elsewhere.requestCount == 0)
    await other.stop()
}
