/// Text from a PSA or a caller made safe for each format: it must show as written and never act
/// as markup (a link, a mention, a heading).
enum NoticeText {
    /// Slack `mrkdwn`: `&`, `<` and `>` are the control characters (links, mentions); Slack asks
    /// for exactly these three to be escaped.
    static func slack(_ text: String) -> String {
        var result = ""
        for character in oneLine(text) {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            default: result.append(character)
            }
        }
        return result
    }

    /// An Adaptive Card `TextBlock` renders a Markdown subset: every punctuation mark that could
    /// start markup anywhere (emphasis, links, code, `{{`, the card's date/time functions) is
    /// backslash-escaped (CommonMark's escapes), and a leading `-`, `+` or `1.` that would start a
    /// list. Text is one line, so no other position can.
    static func adaptiveCard(_ text: String) -> String {
        var result = ""
        let line = oneLine(text)
        let listStart = line.drop { $0 == " " }.first.map { "-+".contains($0) } ?? false
        let numberedStart = line.drop { $0 == " " }.prefix { $0.isASCII && $0.isNumber }.count > 0
            && line.drop { $0 == " " }.drop { $0.isASCII && $0.isNumber }.first.map { ".)".contains($0) } ?? false
        var atStart = true
        for character in line {
            if "\\`*_{}[]()#!|<>~".contains(character) { result.append("\\") }
            if atStart, character != " ", !(character.isASCII && character.isNumber) {
                if (listStart && "-+".contains(character)) || (numberedStart && character == ".") { result.append("\\") }
                atStart = false
            }
            result.append(character)
        }
        return result
    }

    /// Control characters (line breaks included) become spaces: one PSA field stays one line.
    static func oneLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }

    /// The first `limit` items, and a line saying how many more there are.
    static func listed(_ items: [String], limit: Int) -> [String] {
        guard items.count > limit else { return items }
        return Array(items.prefix(limit)) + ["and \(items.count - limit) more"]
    }
}
