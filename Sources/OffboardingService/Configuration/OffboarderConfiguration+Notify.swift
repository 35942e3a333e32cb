import Foundation
import OffboardingNotify

extension OffboarderConfiguration {
    /// `notify.*`: where notices go. Without channels nothing is told and no notices group runs.
    public struct Notify: Sendable {
        /// `notify.console_url`: the base every notice's link is built under; nil: notices carry no link.
        public var consoleURL: String?
        public var channels: [NoticeChannel]
        /// `notify.give_up_after` and the delivery's other settings.
        public var delivery = NoticeDelivery.Configuration()
        /// Whether a channel's group with no offsets starts at the topics' ends (not in the file:
        /// `demo` reads its brand-new topics from their start).
        public var startAtEnd = true

        public init(consoleURL: String? = nil, channels: [NoticeChannel] = []) {
            self.consoleURL = consoleURL
            self.channels = channels
        }

        public var consoleLinks: ConsoleLinks? { consoleURL.map(ConsoleLinks.init(base:)) }
    }

    static func readNotify(_ section: ConfigurationReader) throws(ConfigurationError) -> Notify {
        try section.allowing(["console_url", "channels", "give_up_after"])
        var notify = Notify()
        if let console = try section.string("console_url") {
            guard let url = URL(string: console), NoticeChannel.isAllowed(url), url.query == nil, url.fragment == nil else {
                throw ConfigurationError(
                    key: section.keyPath("console_url"),
                    "must be an https URL without query or fragment, such as https://offboarder.msp.example/console (http only to a loopback host)")
            }
            notify.consoleURL = console
        }
        notify.delivery.giveUpAfter = try section.duration("give_up_after", range: .seconds(1)...Duration.seconds(86_400)) ?? notify.delivery.giveUpAfter
        let entries = try section.sectionList("channels") ?? []
        var channels: [NoticeChannel] = []
        for entry in entries {
            channels.append(try readChannel(entry))
        }
        // The name keys the channel's consumer group: unnamed channels take their kind's name,
        // which must then be unique.
        var seen: Set<String> = []
        for (index, channel) in channels.enumerated() where !seen.insert(channel.name).inserted {
            throw ConfigurationError(
                key: "\(section.keyPath("channels"))[\(index)].name",
                "\"\(channel.name)\" names two channels; give each channel its own name (letters, digits, - and _), which also names its consumer group")
        }
        notify.channels = channels
        try section.finish()
        return notify
    }

    private static func readChannel(_ entry: ConfigurationReader) throws(ConfigurationError) -> NoticeChannel {
        try entry.allowing(["kind", "name", "url", "secret", "notices", "clients", "per_second"])
        let kindText = try entry.requiredString("kind")
        guard let kind = NoticeChannel.Kind(rawValue: kindText) else {
            throw ConfigurationError(key: entry.keyPath("kind"), "must be teams, slack or webhook, not \"\(kindText)\"")
        }
        let name = try entry.string("name") ?? kind.rawValue
        guard (1...64).contains(name.count), name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_".unicodeScalars.contains($0)) })
        else {
            throw ConfigurationError(key: entry.keyPath("name"), "must be 1 to 64 letters, digits, - or _")
        }
        // The URL is a secret (Slack's and Teams' carry their credential): never quoted back.
        guard let url = URL(string: try entry.requiredString("url")), NoticeChannel.isAllowed(url) else {
            throw ConfigurationError(key: entry.keyPath("url"), "must be an https URL (http only to a loopback host); it is not shown here, as it may hold a credential")
        }
        var secret: StandardWebhook.Secret?
        if let text = try entry.string("secret") {
            guard kind == .webhook else { throw ConfigurationError(key: entry.keyPath("secret"), "goes only with kind webhook") }
            do {
                secret = try StandardWebhook.Secret(text)
            } catch {
                throw ConfigurationError(key: entry.keyPath("secret"), "\(error.description); it is not shown here")
            }
        } else if kind == .webhook {
            throw ConfigurationError(key: entry.keyPath("secret"), "is required for kind webhook: a whsec_ secret (whsec_ and 24 to 64 random bytes in base64), from the environment or a file")
        }
        let names = try entry.stringList("notices") ?? ["all"]
        var notices: Set<NoticeKind> = []
        for (index, name) in names.enumerated() {
            if name == "all" {
                notices.formUnion(NoticeKind.allCases)
            } else if let notice = NoticeKind(rawValue: name) {
                notices.insert(notice)
            } else {
                throw ConfigurationError(
                    key: "\(entry.keyPath("notices"))[\(index)]",
                    "\"\(name)\" is not a notice; use all or \(NoticeKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        guard !notices.isEmpty else { throw ConfigurationError(key: entry.keyPath("notices"), "chooses no notice; leave it out for all") }
        let clients = try entry.stringList("clients")
        if let clients, clients.isEmpty || clients.contains(where: \.isEmpty) {
            throw ConfigurationError(key: entry.keyPath("clients"), "must name at least one client id or name, none empty; leave it out for every client")
        }
        let perSecond = try entry.string("per_second").map { text throws(ConfigurationError) -> Double in
            guard let value = Double(text), value.isFinite, (0.01...100).contains(value) else {
                throw ConfigurationError(key: entry.keyPath("per_second"), "must be a number from 0.01 to 100")
            }
            return value
        }
        try entry.finish()
        return NoticeChannel(name: name, kind: kind, url: url, secret: secret, notices: notices, clients: clients, perSecond: perSecond)
    }
}
