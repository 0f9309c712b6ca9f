/// A value read as Redis reads an integer (`string2ll`): an optional `-`, then decimal digits
/// without a leading zero (except `0` itself), nothing else, within Int64. `INCR` refuses
/// anything else with "value is not an integer or out of range".
///
/// Invariant: total — never traps, whatever the bytes; `parse(text(n)) == n` for every n.
public enum DecimalInteger {
    public static func parse(_ bytes: [UInt8]) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        let negative = bytes[0] == UInt8(ascii: "-")
        let digits = negative ? bytes.dropFirst() : bytes[...]
        guard let first = digits.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return nil }
        if first == UInt8(ascii: "0") { return digits.count == 1 && !negative ? 0 : nil }
        var magnitude: UInt64 = 0
        for d in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d) else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            magnitude = sum
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    public static func text(_ n: Int64) -> [UInt8] { Array(String(n).utf8) }
}
