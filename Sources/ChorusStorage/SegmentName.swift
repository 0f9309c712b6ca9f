/// Segment file names: the first record's sequence as 20 decimal digits, then ".seg"
/// (`00000000000000000001.seg`), so that names sort in log order.
/// Invariant: `parse(name(s)) == s` for every sequence; other names parse to nil.
public enum SegmentName {
    public static let suffix = ".seg"

    public static func name(_ firstSequence: UInt64) -> String {
        let digits = String(firstSequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    public static func parse(_ name: String) -> UInt64? {
        let utf8 = Array(name.utf8)
        guard utf8.count == 24, name.hasSuffix(suffix) else { return nil }
        var value: UInt64 = 0
        for c in utf8[0..<20] {
            guard c >= 0x30, c <= 0x39 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
            guard !o1, !o2 else { return nil }
            value = a
        }
        return value
    }
}
