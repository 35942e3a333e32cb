/// The PSA's recent answers by when their requests were sent, refused ("slow down") or not: the
/// share of refusals among the requests sent in a stretch of time is what tells a refusal our rate
/// caused from one it did not.
struct AnswerLog: Sendable {
    struct Share: Sendable, Equatable {
        var refused = 0
        var answered = 0
        var value: Double { answered == 0 ? 0 : Double(refused) / Double(answered) }
    }

    /// Answers to requests sent longer ago than this are forgotten.
    let span: Duration
    private var answers: [(sentAt: ContinuousClock.Instant, refused: Bool)] = []
    private var head = 0

    init(span: Duration) { self.span = span }

    mutating func record(sentAt: ContinuousClock.Instant, refused: Bool, now: ContinuousClock.Instant) {
        trim(now: now)
        answers.append((sentAt, refused))
    }

    /// The answers so far to requests sent after `start` and at or before `end`.
    func share(sentAfter start: ContinuousClock.Instant, through end: ContinuousClock.Instant) -> Share {
        var share = Share()
        for answer in answers[head...] where answer.sentAt > start && answer.sentAt <= end {
            share.answered += 1
            if answer.refused { share.refused += 1 }
        }
        return share
    }

    private mutating func trim(now: ContinuousClock.Instant) {
        // Answers come roughly in the order their requests went out; one that overtook another is
        // forgotten a little late, which costs nothing.
        while head < answers.count, answers[head].sentAt <= now - span { head += 1 }
        if head > 64, head * 2 > answers.count {
            answers.removeFirst(head)
            head = 0
        }
    }
}
