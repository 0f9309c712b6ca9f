import Glibc

/// The cache's default byte budget: a set share of the machine's physical memory, so an
/// agent on a small box does not take what it needs and one on a large box does not sit on a
/// fixed 64 MiB. One sixteenth of RAM (the page cache and the shards' logs need the rest),
/// clamped to [16 MiB, 4 GiB]; 64 MiB when the memory size cannot be read.
///
/// Invariant: `bytes(forPhysical:)` is pure and always inside `range`.
public enum CacheMemoryShare {
    public static let divisor: UInt64 = 16
    public static let floor = 16 << 20
    public static let ceiling = 4 << 30
    /// What `--cache-max-bytes` accepts: 1 MiB to 1 TiB.
    public static let allowed: ClosedRange<Int> = (1 << 20)...(1 << 40)

    /// The budget for a machine with `physical` bytes of memory (nil: unknown).
    public static func bytes(forPhysical physical: UInt64?) -> Int {
        guard let physical, physical > 0 else { return 64 << 20 }
        let share = physical / divisor
        return Int(min(max(share, UInt64(floor)), UInt64(ceiling)))
    }

    /// Physical memory by `sysconf` (pages × page size), nil when it cannot be read.
    public static func physicalMemory() -> UInt64? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return nil }
        let (total, overflow) = UInt64(pages).multipliedReportingOverflow(by: UInt64(size))
        return overflow ? nil : total
    }

    /// This machine's default, read once.
    public static let machineDefault = bytes(forPhysical: physicalMemory())
}

/// A byte count as flags and config files write it: plain digits, or digits followed by
/// B, KiB, MiB, GiB or TiB (powers of 1024; the unit's case is ignored, and K/M/G/T alone
/// mean the same).
///
/// Invariant: `parse` is total: nil for anything else, including a count that overflows Int.
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let n = Int(digits) else { return nil }
        let unit = text.dropFirst(digits.count).lowercased()
        let shift: Int
        switch unit {
        case "", "b": shift = 0
        case "k", "kib": shift = 10
        case "m", "mib": shift = 20
        case "g", "gib": shift = 30
        case "t", "tib": shift = 40
        default: return nil
        }
        guard n <= Int.max >> shift else { return nil }
        return n << shift
    }
}
