/// A ticket a simulator took through its API, as the tests read it back: the same shape for the
/// three PSAs (ConnectWise board, Autotask queue, HaloPSA ticket type as `placedIn`).
public struct SimulatedTicket: Sendable, Hashable {
    public var id: Int
    public var companyID: Int
    public var title: String
    public var text: String
    public var placedIn: Int
    public var status: Int?
}
