/// A client session: opened on its *home shard* and referenced by lock entries on any shard.
///
/// `index` is the Raft index, on the home shard, of the `openSession` entry that created it;
/// `openedAtMillis` is the proposing leader's wall clock in milliseconds, carried inside that
/// command so that applying it stays deterministic. `(home, index)` alone is unique; the clock
/// reading only orders sessions by age.
///
/// Order (`<`) is by age: `(openedAtMillis, home, index)`, oldest first, so the *youngest*
/// session of a set is its maximum. Invariant: the order is total and agrees with equality.
/// Text form: `"<home>-<index>-<openedAtMillis>"` in canonical decimal (no sign, no leading
/// zeros), which `init(parsing:)` reads back exactly and nothing else.
public struct SessionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var home: UInt16
    public var index: UInt64
    public var openedAtMillis: UInt64

    @inlinable public init(home: UInt16, index: UInt64, openedAtMillis: UInt64) {
        self.home = home; self.index = index; self.openedAtMillis = openedAtMillis
    }

    @inlinable public static func < (a: SessionID, b: SessionID) -> Bool {
        (a.openedAtMillis, a.home, a.index) < (b.openedAtMillis, b.home, b.index)
    }

    public var description: String { "\(home)-\(index)-\(openedAtMillis)" }

    /// The deadlock detector's order: by the Raft index of the opening entry, then the home
    /// shard — positions in replicated logs, which no clock can skew. (Indices of different
    /// shards do not measure one time line; the order is only a fair, deterministic rule
    /// that a leader with a fast clock cannot bend.)
    public static func opensBefore(_ a: SessionID, _ b: SessionID) -> Bool {
        (a.index, a.home, a.openedAtMillis) < (b.index, b.home, b.openedAtMillis)
    }

    /// Reads the text form; refuses anything but three canonical decimal numbers in range.
    public init(parsing text: String) throws(LockInputError) {
        let parts = text.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .invalidSessionID("expected <home>-<index>-<openedAtMillis>") }
        guard let home = SessionID.decimal(parts[0]), home <= UInt64(UInt16.max) else {
            throw .invalidSessionID("home shard is not a number in 0…65535")
        }
        guard let index = SessionID.decimal(parts[1]) else { throw .invalidSessionID("index is not a 64-bit decimal") }
        guard let opened = SessionID.decimal(parts[2]) else { throw .invalidSessionID("openedAtMillis is not a 64-bit decimal") }
        self.init(home: UInt16(home), index: index, openedAtMillis: opened)
    }

    /// A canonical unsigned decimal: digits only, no leading zero unless it is "0", no overflow.
    private static func decimal(_ digits: Substring.UTF8View) -> UInt64? {
        guard let first = digits.first, digits.count <= 20 else { return nil }
        if first == UInt8(ascii: "0") && digits.count > 1 { return nil }
        var value: UInt64 = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }
}
