import Foundation
import OffboardingCore
import PSAHTTP

extension HaloClient {
    public var batchSize: Int { configuration.batchSize }

    /// One `POST /api/Asset` for the whole batch (see `write`), after checking against a recent listing of the
    /// client that every asset still exists (Halo would create one it does not know). A 400 that
    /// names elements (`{"[3].inactive": "…"}`) fails those assets with Halo's message and sends
    /// the rest again; one that names none is split in halves until the refused asset is alone.
    /// Whether Halo applied every element of an accepted batch is not assumed: the run re-lists.
    public func deactivate(batch: [PSAItem], note: ReasonNote?) async -> [Result<PSAItem, PSAError>] {
        guard batch.count > 1 else { return await deactivateOneByOne(batch, note: note) }
        return await write(batch.map { ($0, true) }, note: note)
    }

    /// The same array POST, setting `inactive` back to what each asset had before the offboarding.
    public func restore(batch: [PSARestoration], note: ReasonNote?) async -> [Result<PSAItem, PSAError>] {
        guard batch.count > 1 else { return await restoreOneByOne(batch, note: note) }
        return await write(batch.map { ($0.configuration, !$0.previous.active) }, note: note)
    }

    /// Sets each asset's `inactive` as given, in one POST per client.
    private func write(_ changes: [(configuration: PSAItem, inactive: Bool)], note: ReasonNote?) async -> [Result<PSAItem, PSAError>] {
        let batch = changes.map(\.configuration)
        var outcomes = [Result<PSAItem, PSAError>?](repeating: nil, count: batch.count)
        var writable: [(index: Int, id: Int)] = []
        for (index, config) in batch.enumerated() {
            do throws(PSAError) {
                writable.append((index, try Self.records.configurationNumber(config.id)))
            } catch {
                outcomes[index] = .failure(error)
            }
        }
        for (client, members) in Dictionary(grouping: writable, by: { batch[$0.index].companyID.flatMap(PSARecordID.parse) ?? 0 }) {
            var listing = await existing(ofClient: client, event: note?.eventID ?? "", maxAge: configuration.batchListingMaxAge)
            // A shared listing may predate an asset added since: one missing is looked for afresh.
            if case .success(let assets) = listing, members.contains(where: { assets[$0.id] == nil }) {
                listing = await existing(ofClient: client, event: note?.eventID ?? "", maxAge: .zero)
            }
            switch listing {
            case .failure(let error):
                for member in members { outcomes[member.index] = .failure(error) }
            case .success(let assets):
                for member in members where assets[member.id] == nil {
                    outcomes[member.index] = .failure(
                        PSAError(code: .configNotFound, message: "HaloPSA no longer lists asset \(member.id) for client \(client)", httpStatus: 404))
                }
                let updates = members.compactMap { member in
                    assets[member.id].map { notes in
                        (member.index, HaloAssetUpdate(id: member.id, inactive: changes[member.index].inactive, notes: note?.appended(to: notes)))
                    }
                }
                for (index, outcome) in await post(updates) {
                    outcomes[index] = outcome.map { _ in
                        var updated = batch[index]
                        updated.isActive = !changes[index].inactive
                        updated.psaStatus = updated.isActive ? "Active" : "Inactive"
                        return updated
                    }
                }
            }
        }
        return outcomes.enumerated().map { index, outcome in
            outcome ?? .failure(PSAError(code: .configUpdateFailed, message: "asset \(batch[index].id) was not written", isRetriable: true))
        }
    }

    /// The client's assets (id → notes) from a shared recent listing.
    private func existing(ofClient client: Int, event: String, maxAge: Duration) async -> Result<[Int: String], PSAError> {
        guard client > 0 else { return .failure(PSAError(code: .ownershipMismatch, message: "HaloPSA listed assets without a client")) }
        return await listings.assets(ofClient: client, event: event, maxAge: maxAge) { [self] in
            do throws(PSAError) {
                let assets = try await assets(ofClient: client, includeArchived: true)
                return .success(Dictionary(assets.map { ($0.id, $0.notes ?? "") }, uniquingKeysWith: { first, _ in first }))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Writes the members and returns each one's outcome by its index in the batch.
    private func post(_ members: [(index: Int, update: HaloAssetUpdate)]) async -> [(Int, Result<Void, PSAError>)] {
        guard !members.isEmpty else { return [] }
        let body: [UInt8]
        do {
            body = try PSAJSON.encode(members.map(\.update))
        } catch {
            return members.map { ($0.index, .failure(error)) }
        }
        let response: PSAHTTPTransport.Response
        do {
            response = try await send(.POST, path: "/api/Asset", body: body)
        } catch {
            return members.map { ($0.index, .failure(error)) }
        }
        switch response.status {
        case 200..<300:
            return members.map { ($0.index, .success(())) }
        case 400 where members.count > 1:
            let named = Self.refusedElements(response, count: members.count)
            guard !named.isEmpty else {
                let half = members.count / 2
                return await post(Array(members[..<half])) + post(Array(members[half...]))
            }
            let refused = named.map { position, message in
                (members[position].index, Result<Void, PSAError>.failure(
                    PSAError(code: .configUpdateFailed, message: "asset \(members[position].update.id): HTTP 400: \(message)", httpStatus: 400)))
            }
            let rest = members.enumerated().filter { named[$0.offset] == nil }.map(\.element)
            return refused + (await post(rest))
        default:
            let what = members.count == 1 ? "asset \(members[0].update.id)" : "assets \(members.map(\.update.id))"
            let error = Self.answers.updateError(for: response, what: what)
            return members.map { ($0.index, .failure(error)) }
        }
    }

    /// The elements a 400 names, by position in the array, with Halo's message for each:
    /// its validation bodies are keyed by field path, `[3].inactive`. Positions out of range are ignored.
    package static func refusedElements(_ response: PSAHTTPTransport.Response, count: Int) -> [Int: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else { return [:] }
        var named: [Int: String] = [:]
        for (key, value) in object {
            guard key.hasPrefix("["), let close = key.firstIndex(of: "]"),
                let position = Int(key[key.index(after: key.startIndex)..<close]), (0..<count).contains(position)
            else { continue }
            let message = (value as? String) ?? "refused"
            named[position] = named[position].map { "\($0); \(message)" } ?? message
        }
        return named
    }
}
