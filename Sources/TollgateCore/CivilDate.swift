/// The UTC calendar date of a day count since 1970-01-01 (H. Hinnant's days-to-civil algorithm;
/// no Foundation calendar, no locale).
public func civilDate(daysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
}

/// `YYYY-MM-DD` and `YYYY-MM` of a Unix time, in UTC.
public func utcKeys(_ seconds: Double) -> (day: String, month: String) {
    let c = utcComponents(seconds)
    let month = "\(c.year)-\(c.month < 10 ? "0" : "")\(c.month)"
    return ("\(month)-\(c.day < 10 ? "0" : "")\(c.day)", month)
}

/// Civil date of a Unix time in UTC.
public func utcComponents(_ seconds: Double) -> (year: Int, month: Int, day: Int) {
    civilDate(daysSince1970: Int((seconds / 86400).rounded(.down)))
}

/// Unix time of the start of the UTC day and month containing `seconds`.
public func utcDayAndMonthStart(_ seconds: Double) -> (day: Double, month: Double) {
    let dayStart = (seconds / 86400).rounded(.down) * 86400
    let c = utcComponents(seconds)
    return (dayStart, dayStart - Double(c.day - 1) * 86400)
}
