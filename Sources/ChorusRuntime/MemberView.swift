import ChorusBase
import ChorusMembership
import Glibc

/// One member as `GET /v1/members` reports it and `chorus members` reads it.
/// Invariant: `status` is one of `alive`, `suspect`, `dead`, `left`; `phi` is finite;
/// `last_change` is an RFC 3339 UTC time and `seconds_since_change` the same moment as an age.
public struct MemberView: Codable, Sendable, Equatable {
    public var name: String
    public var address: String
    public var status: String
    public var incarnation: UInt32
    public var tags: [String: String]
    public var phi: Double
    public var lastChange: String
    public var secondsSinceChange: Double
    public var local: Bool

    enum CodingKeys: String, CodingKey {
        case name, address, status, incarnation, tags, phi, local
        case lastChange = "last_change"
        case secondsSinceChange = "seconds_since_change"
    }

    public init(name: String, address: String, status: String, incarnation: UInt32, tags: [String: String],
                phi: Double, lastChange: String, secondsSinceChange: Double, local: Bool) {
        self.name = name
        self.address = address
        self.status = status
        self.incarnation = incarnation
        self.tags = tags
        self.phi = phi
        self.lastChange = lastChange
        self.secondsSinceChange = secondsSinceChange
        self.local = local
    }

    /// The view of `info` at monotonic instant `now`.
    public init(_ info: Membership.MemberInfo, now: Instant) {
        let age = max(0, (now - info.changedAt).seconds)
        let phi = info.phi.isFinite ? (info.phi * 1000).rounded() / 1000 : 1e9
        self.init(name: info.name, address: info.address.description, status: info.status.description,
                  incarnation: info.incarnation, tags: info.tags.dictionary, phi: phi,
                  lastChange: RFC3339.string(secondsAgo: age), secondsSinceChange: (age * 1000).rounded() / 1000,
                  local: info.isLocal)
    }
}

/// RFC 3339 UTC timestamps for moments given relative to now. Invariant: output always has
/// the form `YYYY-MM-DDTHH:MM:SS.mmmZ`.
enum RFC3339 {
    static func string(secondsAgo: Double) -> String {
        var ts = timespec()
        _ = clock_gettime(CLOCK_REALTIME, &ts)
        let nowMillis = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000)
        let thenMillis = nowMillis - Int64((secondsAgo * 1000).rounded())
        var seconds = time_t(thenMillis / 1000)
        var tm = Glibc.tm()
        _ = gmtime_r(&seconds, &tm)
        let civil = WallClock.Civil(year: Int(tm.tm_year) + 1900, month: Int(tm.tm_mon) + 1, day: Int(tm.tm_mday),
                                    hour: Int(tm.tm_hour), minute: Int(tm.tm_min), second: Int(tm.tm_sec),
                                    millisecond: Int(thenMillis % 1000), weekday: Int(tm.tm_wday))
        return WallClock.iso8601(civil)
    }
}
