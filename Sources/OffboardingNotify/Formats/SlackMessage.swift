/// A Slack incoming-webhook message: Block Kit blocks with a plain `text` fallback for
/// notifications. Block Kit's limits are kept (a header of 150 characters, section text of 3,000,
/// ten fields of 2,000 each, 50 blocks); every PSA text is escaped for `mrkdwn`.
enum SlackMessage {
    static let listLimit = 25

    static func body(for notice: Notice) -> [UInt8] {
        var blocks: [[String: Any]] = [
            ["type": "header", "text": ["type": "plain_text", "text": NoticeText.slack(notice.title).clipped(to: 150), "emoji": false]],
            ["type": "section", "text": mrkdwn(NoticeText.slack(notice.summary))],
        ]
        let facts = [Notice.Fact("Client", notice.clientLabel)] + notice.facts
        blocks.append([
            "type": "section",
            "fields": facts.prefix(10).map { mrkdwn("*\(NoticeText.slack($0.name))*\n\(NoticeText.slack($0.value))", limit: 2000) },
        ])
        let configurations = notice.configurations.map { config in
            NoticeText.slack("\(config.name) (\(config.id))\(config.action.map { ": \($0)" } ?? "")")
        }
        if !configurations.isEmpty {
            blocks.append(["type": "section", "text": mrkdwn(list("Configurations", configurations))])
        }
        let warnings = notice.warnings.map { NoticeText.slack("\($0.code): \($0.message)") }
        if !warnings.isEmpty {
            blocks.append(["type": "section", "text": mrkdwn(list("Warnings", warnings))])
        }
        if let link = notice.link {
            blocks.append([
                "type": "actions",
                "elements": [["type": "button", "text": ["type": "plain_text", "text": link.title], "url": link.url]],
            ])
        }
        let fallback = NoticeText.slack("\(notice.title): \(notice.summary)").clipped(to: 3000)
        return NoticeJSON.bytes(["text": fallback, "blocks": blocks] as [String: Any])
    }

    private static func mrkdwn(_ text: String, limit: Int = 3000) -> [String: Any] {
        ["type": "mrkdwn", "text": text.clipped(to: limit)]
    }

    private static func list(_ heading: String, _ items: [String]) -> String {
        "*\(heading)*\n" + NoticeText.listed(items, limit: listLimit).map { "• \($0)" }.joined(separator: "\n")
    }
}
