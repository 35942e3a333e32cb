import Crypto
import OffboardingCore

/// What the three adapters share about the audit ticket: the reference that ties a ticket to one
/// offboarding, and looking before opening, so that a retried or repeated run never opens a second.
public enum PSAAuditTickets {
    /// How often a create whose answer was lost is looked for and tried again.
    static let maxOpenAttempts = 3

    /// The reference a ticket carries: the same for every attempt of one event, and 43 characters,
    /// within every PSA's reference field (Autotask's `externalID` holds 50). Hashed because event
    /// ids are the callers' text, of any length and alphabet.
    public static func reference(eventID: String) -> String {
        let digest = SHA256.hash(data: Array(eventID.utf8))
        return "offboarder-" + digest.prefix(16).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Whether a ticket's reference (or a summary's leading `[reference]`) is one of this service's
    /// audit tickets, which the open-ticket check does not count against the client.
    public static func isAuditReference(_ text: String?) -> Bool {
        guard var text else { return false }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") { text = String(text[text.index(after: text.startIndex)..<close]) }
        return text.hasPrefix("offboarder-") && text.utf8.count == 43 && text.dropFirst(11).allSatisfy(\.isHexDigit)
    }

    /// An adapter's `audit.ticket.<kind>` settings, or the refusal naming the key when there are
    /// none (the run asks only an adapter that `opensAuditTickets`).
    public static func settings<Settings>(_ settings: Settings?, of psa: PSAKind) throws(PSAError) -> Settings {
        guard let settings else { throw PSAError(code: .ticketNotCreated, message: "audit.ticket.\(psa) is not configured") }
        return settings
    }

    /// The ticket `find` returns, or the one `open` opens. `open` is sent once per attempt (its
    /// transport does not repeat it); when its answer is lost, the ticket is looked for again
    /// before another is opened.
    /// - Parameter settle: how long to wait before looking again after a lost answer (doubled each
    ///   time): a PSA may still be creating the ticket, or not yet list it.
    public static func findOrOpen(
        settle: Duration = .seconds(1), find: () async throws(PSAError) -> String?, open: () async throws(PSAError) -> String
    ) async throws(PSAError) -> PSAAuditTicketReceipt {
        var attempt = 1
        while true {
            if let id = try await find() { return PSAAuditTicketReceipt(id: id, opened: attempt > 1) }
            do {
                return PSAAuditTicketReceipt(id: try await open(), opened: true)
            } catch where error.isRetriable && attempt < maxOpenAttempts {
                do {
                    try await Task.sleep(for: settle * (1 << (attempt - 1)))
                } catch {
                    throw PSAError(code: .ticketNotCreated, message: "cancelled while waiting to look for the audit ticket again", isRetriable: true)
                }
                attempt += 1
            }
        }
    }
}
