import Foundation
import OffboardingCore
import OffboardingKafka
import OffboardingNotify

/// What a record of the results, approvals or dead-letter topic says, for notices: a result, an
/// approval's state, or a dead letter; nil for anything else (journals, decisions, sign-outs, a
/// record that does not decode: the pipeline has already dealt with those).
enum NoticeSourceReader {
    static func source(of record: KafkaRecord, topics: OffboarderConfiguration.Topics, seenAt: Date) -> NoticeSource? {
        switch record.topic {
        case topics.results:
            return (try? ResultEncoding.decode(record.value ?? [])).map(NoticeSource.result)
        case topics.approvals:
            guard case .record(let approval)? = try? ApprovalMessage.decode(record.value) else { return nil }
            return .approval(approval)
        case topics.deadLetter:
            guard let code = record.headers.last(named: DeadLetterHeaders.code)?.stringValue else { return nil }
            return .deadLetter(
                NoticeSource.DeadLetter(
                    code: code, reason: record.headers.last(named: DeadLetterHeaders.reason)?.stringValue ?? "",
                    key: record.key.map { String(decoding: $0, as: UTF8.self) }, sourceTopic: record.headers.last(named: DeadLetterHeaders.sourceTopic)?.stringValue,
                    position: "\(record.topic)/\(record.partition)/\(record.offset)", seenAt: Timestamp.string(seenAt)))
        default:
            return nil
        }
    }
}
