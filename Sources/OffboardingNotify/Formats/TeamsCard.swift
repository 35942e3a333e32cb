import Foundation

/// A Teams Workflows message ("When a Teams webhook request is received", then "Post card in a
/// chat or channel"): the Adaptive Card in the `attachments` envelope, the only shape Workflows
/// post. Text is escaped for the card's Markdown; the one link is the notice's console link.
enum TeamsCard {
    /// Cards of over about 28 KB are refused; long lists are cut well before that.
    static let listLimit = 25

    static func body(for notice: Notice) -> [UInt8] {
        var body: [[String: Any]] = [
            ["type": "TextBlock", "text": NoticeText.adaptiveCard(notice.title), "weight": "Bolder", "size": "Medium", "wrap": true],
            ["type": "TextBlock", "text": NoticeText.adaptiveCard(notice.summary), "wrap": true],
        ]
        let facts = [Notice.Fact("Client", notice.clientLabel)] + notice.facts
        body.append([
            "type": "FactSet",
            "facts": facts.map { ["title": NoticeText.adaptiveCard($0.name), "value": NoticeText.adaptiveCard($0.value)] },
        ])
        let configurations = notice.configurations.map { config in
            NoticeText.adaptiveCard("\(config.name) (\(config.id))\(config.action.map { ": \($0)" } ?? "")")
        }
        if !configurations.isEmpty {
            body.append(section("Configurations", NoticeText.listed(configurations, limit: listLimit)))
        }
        let warnings = notice.warnings.map { NoticeText.adaptiveCard("\($0.code): \($0.message)") }
        if !warnings.isEmpty {
            body.append(section("Warnings", NoticeText.listed(warnings, limit: listLimit)))
        }
        var card: [String: Any] = [
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body,
        ]
        if let link = notice.link {
            card["actions"] = [["type": "Action.OpenUrl", "title": link.title, "url": link.url]]
        }
        let message: [String: Any] = [
            "type": "message",
            "attachments": [["contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": NSNull(), "content": card]],
        ]
        return NoticeJSON.bytes(message)
    }

    /// A bold heading and a bulleted list; the bullets are the card's own Markdown, the items escaped.
    private static func section(_ heading: String, _ items: [String]) -> [String: Any] {
        ["type": "TextBlock", "text": "**\(heading)**\n\n" + items.map { "- \($0)" }.joined(separator: "\n"), "wrap": true, "spacing": "Medium"]
    }
}
