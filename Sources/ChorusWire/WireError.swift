/// Why a sequence of bytes could not be decoded. Decoders return these; they never trap.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended before a field was complete.
    case truncated(needed: Int, remaining: Int)
    /// A length or count field exceeds the limit the decoder allows.
    case tooLarge(field: String, value: Int, limit: Int)
    /// A field holds a value outside its domain (unknown enum tag, bad magic, ...).
    case invalid(field: String, reason: String)
    /// Bytes were left over after a complete message.
    case trailingBytes(Int)
    /// A checksum did not match.
    case checksumMismatch

    public var description: String {
        switch self {
        case let .truncated(needed, remaining): return "truncated: needed \(needed) bytes, \(remaining) left"
        case let .tooLarge(field, value, limit): return "\(field) too large: \(value) > \(limit)"
        case let .invalid(field, reason): return "invalid \(field): \(reason)"
        case let .trailingBytes(n): return "\(n) trailing bytes"
        case .checksumMismatch: return "checksum mismatch"
        }
    }
}
