import Glibc

/// Wall-clock (UTC) time, only for human-facing text: log timestamps and the HTTP `Date`
/// header. Never used for timeouts or ordering (that is `MonotonicClock`'s job), because the
/// wall clock can jump. Invariant: every string it renders is in UTC.
enum WallClock {
    /// Broken-down UTC time plus milliseconds.
    struct Civil {
        var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int
        var weekday: Int  // 0 = Sunday
    }

    /// Milliseconds since the Unix epoch (stamps sessions with their opening time).
    static func unixMillis() -> UInt64 {
        var ts = timespec()
        _ = clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(max(0, ts.tv_sec)) &* 1_000 &+ UInt64(max(0, ts.tv_nsec / 1_000_000))
    }

    static func civilNow() -> Civil {
        var ts = timespec()
        _ = clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var tm = Glibc.tm()
        _ = gmtime_r(&seconds, &tm)
        return Civil(year: Int(tm.tm_year) + 1900, month: Int(tm.tm_mon) + 1, day: Int(tm.tm_mday),
                     hour: Int(tm.tm_hour), minute: Int(tm.tm_min), second: Int(tm.tm_sec),
                     millisecond: Int(ts.tv_nsec / 1_000_000), weekday: Int(tm.tm_wday))
    }

    /// "2026-11-22T00:00:00.000Z" (RFC 3339, millisecond precision).
    static func iso8601(_ c: Civil = civilNow()) -> String {
        "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(c.millisecond, 3))Z"
    }

    /// "Sun, 22 Nov 2026 00:00:00 GMT" (RFC 9110 IMF-fixdate, for the `Date` header).
    static func httpDate(_ c: Civil = civilNow()) -> String {
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let day = days[min(max(c.weekday, 0), 6)]
        let month = months[min(max(c.month - 1, 0), 11)]
        return "\(day), \(pad(c.day, 2)) \(month) \(pad(c.year, 4)) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) GMT"
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
