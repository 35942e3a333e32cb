import Foundation

/// A five-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC.
/// Fields take `*`, numbers, ranges `a-b`, lists `a,b` and steps `*/n` or `a-b/n`; day-of-week 0
/// and 7 are Sunday. As in cron, when both day fields are restricted a day matching either one fires.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public struct ParseError: Error, Sendable {
        public var message: String
    }

    public let description: String
    private let minutes: Set<Int>
    private let hours: Set<Int>
    private let daysOfMonth: Set<Int>
    private let months: Set<Int>
    private let daysOfWeek: Set<Int>
    private let dayOfMonthRestricted: Bool
    private let dayOfWeekRestricted: Bool

    public init(parsing text: String) throws(ParseError) {
        let fields = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(message: "must have 5 fields (minute hour day-of-month month day-of-week), such as \"0 2 * * *\", not \"\(text)\"")
        }
        description = fields.joined(separator: " ")
        minutes = try Self.field(fields[0], name: "minute", range: 0...59)
        hours = try Self.field(fields[1], name: "hour", range: 0...23)
        daysOfMonth = try Self.field(fields[2], name: "day of month", range: 1...31)
        months = try Self.field(fields[3], name: "month", range: 1...12)
        daysOfWeek = Set(try Self.field(fields[4], name: "day of week", range: 0...7).map { $0 % 7 })
        dayOfMonthRestricted = fields[2] != "*"
        dayOfWeekRestricted = fields[4] != "*"
    }

    private static func field(_ text: String, name: String, range: ClosedRange<Int>) throws(ParseError) -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard (1...2).contains(pieces.count) else { throw ParseError(message: "\(name) field \"\(text)\" is not valid") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw ParseError(message: "\(name) step in \"\(text)\" must be a positive number") }
                step = parsed
            }
            let bounds: ClosedRange<Int>
            if pieces[0] == "*" {
                bounds = range
            } else {
                let ends = pieces[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
                guard (1...2).contains(ends.count), let low = ends.first ?? nil, let high = ends.last ?? nil, low <= high,
                    range.contains(low), range.contains(high)
                else {
                    throw ParseError(message: "\(name) field \"\(text)\" must hold numbers in \(range.lowerBound)-\(range.upperBound)")
                }
                bounds = pieces.count == 2 && ends.count == 1 ? low...range.upperBound : low...high
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }

    /// The first minute strictly after `date` that matches.
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        // Whole minutes since the epoch are whole UTC minutes.
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let minute = (date.timeIntervalSince1970 / 60).rounded(.down) * 60
        var candidate = Date(timeIntervalSince1970: minute + 60)
        // Five years of minutes bounds the search; an impossible date (31 February) ends it.
        let limit = candidate.addingTimeInterval(5 * 366 * 86400)
        while candidate < limit {
            let parts = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: candidate)
            guard let month = parts.month, let day = parts.day, let weekday = parts.weekday, let hour = parts.hour, let minute = parts.minute else {
                return nil
            }
            if !months.contains(month) {
                candidate = calendar.date(byAdding: .month, value: 1, to: calendar.date(from: calendar.dateComponents([.year, .month], from: candidate))!)!
                continue
            }
            if !dayMatches(day: day, weekday: weekday - 1) {
                candidate = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: candidate))!
                continue
            }
            if !hours.contains(hour) {
                candidate = calendar.date(byAdding: .hour, value: 1, to: calendar.dateInterval(of: .hour, for: candidate)!.start)!
                continue
            }
            if !minutes.contains(minute) {
                candidate = candidate.addingTimeInterval(60)
                continue
            }
            return candidate
        }
        return nil
    }

    private func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
        case (true, false): daysOfMonth.contains(day)
        case (false, true): daysOfWeek.contains(weekday)
        case (false, false): true
        }
    }
}
