import Foundation

/// The simulator process's own memory use, read from Linux's `/proc/self/status`, to report
/// what a run of N nodes costs.
///
/// Invariant: a value is returned only when the kernel reported it; elsewhere (or if the
/// format is unexpected) the answer is `nil`, never a guess.
public enum ProcessMemory {
    /// The high-water mark of resident memory (`VmHWM`), in bytes.
    public static func peakResidentBytes() -> Int? { statusField("VmHWM") }

    /// Resident memory now (`VmRSS`), in bytes.
    public static func currentResidentBytes() -> Int? { statusField("VmRSS") }

    /// Reads a line such as `VmHWM:     123456 kB` and returns bytes.
    static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return parseField(name, in: text)
    }

    static func parseField(_ name: String, in status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            let parts = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let number = parts.first.flatMap({ Int($0) }) else { return nil }
            let unit = parts.count > 1 ? parts[1].lowercased() : "b"
            switch unit {
            case "kb": return number * 1024
            case "mb": return number * 1024 * 1024
            case "b": return number
            default: return nil
            }
        }
        return nil
    }
}
