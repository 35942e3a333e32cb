import AsyncHTTPClient
import Logging
import OffboardingKafka
import OffboardingNotify
import ServiceLifecycle

/// Tells each configured channel, through a feed of its own (consumer group
/// `<kafka.group_id>.notices.<channel name>`); a channel's feed starts, when its group has no
/// offsets yet, at the topics' ends, so a first start does not replay history. Stops at the
/// graceful shutdown: a notice being tried is left for the restart.
final class NoticeService: Service {
    private let feeds: [NoticeFeed]
    private let logger: Logger

    init(
        notify: OffboarderConfiguration.Notify, kafka: OffboarderConfiguration.Kafka, producer: KafkaProducer, signer: RecordSigner, http: HTTPClient,
        logger: Logger
    ) throws(KafkaError) {
        var feeds: [NoticeFeed] = []
        for channel in notify.channels {
            var channelLogger = logger
            channelLogger[metadataKey: "notify.channel"] = "\(channel.name)"
            var properties = kafka.properties
            properties["auto.offset.reset"] = notify.startAtEnd ? "latest" : "earliest"
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumer.Configuration(
                    bootstrapServers: kafka.bootstrapServers, groupID: Self.groupID(kafka.groupID, channel: channel),
                    topics: [kafka.topics.results, kafka.topics.approvals, kafka.topics.deadLetter], properties: properties),
                logger: channelLogger)
            feeds.append(
                NoticeFeed(
                    configuration: NoticeFeed.Configuration(topics: kafka.topics, console: notify.consoleLinks), consumer: consumer,
                    delivery: NoticeDelivery(channel: channel, configuration: notify.delivery, http: http, logger: channelLogger), producer: producer,
                    signer: signer, logger: channelLogger))
        }
        self.feeds = feeds
        self.logger = logger
    }

    static func groupID(_ groupID: String, channel: NoticeChannel) -> String { "\(groupID).notices.\(channel.name)" }

    func run() async throws {
        logger.info("notices starting", metadata: ["notify.channels": "\(feeds.count)"])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for feed in self.feeds { group.addTask { await feed.run() } }
            }
        }
        logger.info("notices stopped")
    }
}
