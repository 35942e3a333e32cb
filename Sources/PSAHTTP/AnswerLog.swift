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
    private var answered: SlidingInstants
    private var refused: SlidingInstants

    init(span: Duration) {
        self.span = span
        answered = SlidingInstants(span: span)
        refused = SlidingInstants(span: span)
    }

    // Answers come roughly in the order their requests went out; one that overtook another is
    // forgotten a little late, which costs nothing.
    mutating func record(sentAt: ContinuousClock.Instant, refused: Bool, now: ContinuousClock.Instant) {
        answered.append(sentAt, now: now)
        if refused { self.refused.append(sentAt, now: now) }
    }

    /// The answers so far to requests sent after `start` and at or before `end`.
    mutating func share(sentAfter start: ContinuousClock.Instant, through end: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Share {
        Share(refused: refused.count(sentAfter: start, through: end, now: now), answered: answered.count(sentAfter: start, through: end, now: now))
    }
}
