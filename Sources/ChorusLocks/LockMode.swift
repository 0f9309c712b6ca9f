/// How a lock is held. Invariant (the compatibility matrix): shared is compatible with
/// shared only; exclusive with nothing.
public enum LockMode: UInt8, Hashable, Comparable, Sendable, CustomStringConvertible {
    case exclusive = 1
    case shared = 2

    /// Whether a holder in `self` and a holder in `other` may hold one lock at once.
    @inlinable public func isCompatible(with other: LockMode) -> Bool { self == .shared && other == .shared }

    public static func < (a: LockMode, b: LockMode) -> Bool { a.rawValue < b.rawValue }
    public var description: String { self == .exclusive ? "exclusive" : "shared" }
}
