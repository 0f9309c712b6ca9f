/// A point on a monotonic time line, in nanoseconds since an arbitrary origin.
///
/// Protocol code never reads a clock: the driver (the runtime's monotonic clock or the
/// simulator's virtual clock) passes the current `Instant` in with every input.
/// Invariant: instants from one driver are comparable and never go backwards.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)
    /// Later than any instant a run reaches; used for "no deadline".
    public static let distantFuture = Instant(nanoseconds: Int64.max / 2)

    @inlinable public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
    @inlinable public static func + (a: Instant, b: Interval) -> Instant { Instant(nanoseconds: a.nanoseconds &+ b.nanoseconds) }
    @inlinable public static func - (a: Instant, b: Interval) -> Instant { Instant(nanoseconds: a.nanoseconds &- b.nanoseconds) }
    @inlinable public static func - (a: Instant, b: Instant) -> Interval { Interval(nanoseconds: a.nanoseconds &- b.nanoseconds) }

    /// Seconds since the origin, for reports.
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var description: String { String(format: "%.3fs", seconds) }
}

/// A length of time in nanoseconds. Negative values are allowed in arithmetic but never
/// stored in settings (settings validation refuses them).
public struct Interval: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Interval(nanoseconds: 0)
    @inlinable public static func nanoseconds(_ n: Int64) -> Interval { Interval(nanoseconds: n) }
    @inlinable public static func microseconds(_ n: Int64) -> Interval { Interval(nanoseconds: n * 1_000) }
    @inlinable public static func milliseconds(_ n: Int64) -> Interval { Interval(nanoseconds: n * 1_000_000) }
    @inlinable public static func seconds(_ n: Int64) -> Interval { Interval(nanoseconds: n * 1_000_000_000) }
    @inlinable public init(seconds s: Double) { self.init(nanoseconds: Int64((s * 1e9).rounded())) }

    @inlinable public static func < (a: Interval, b: Interval) -> Bool { a.nanoseconds < b.nanoseconds }
    @inlinable public static func + (a: Interval, b: Interval) -> Interval { Interval(nanoseconds: a.nanoseconds &+ b.nanoseconds) }
    @inlinable public static func - (a: Interval, b: Interval) -> Interval { Interval(nanoseconds: a.nanoseconds &- b.nanoseconds) }
    @inlinable public func scaled(_ k: Double) -> Interval { Interval(nanoseconds: Int64((Double(nanoseconds) * k).rounded())) }
    @inlinable public static func * (a: Interval, k: Int64) -> Interval { Interval(nanoseconds: a.nanoseconds &* k) }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var milliseconds: Double { Double(nanoseconds) / 1e6 }
    public var description: String {
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return String(format: "%.3fms", milliseconds)
    }

    /// Parses "250ms", "1.5s", "2m", "100us", "30" (seconds). Returns nil for anything else.
    public init?(parsing text: String) {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var number = Substring(text.trimmingCharacters(in: .whitespaces))
        var scale = 1e9
        for (suffix, factor) in units where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0, value * scale < 9e18 else { return nil }
        self.nanoseconds = Int64((value * scale).rounded())
    }
}

import Foundation
