/// The keys a node opens messages with, and the one it seals with (memberlist's keyring).
///
/// Invariants: at most `maxKeys` distinct keys; when any key is held, the primary is one of
/// them, and the primary cannot be removed (rotation: install a new key everywhere, make it
/// primary everywhere, then remove the old one). An empty keyring seals nothing.
public struct Keyring: Sendable, Equatable {
    public static let maxKeys = 16

    /// The primary first, then the others in the order they were installed.
    public private(set) var keys: [SealKey] = []

    public init() {}

    /// A keyring holding `keys`, the first primary.
    public init(keys: [SealKey]) throws(KeyringError) {
        for k in keys { try install(k) }
    }

    public var primary: SealKey? { keys.first }
    public var isEmpty: Bool { keys.isEmpty }

    /// Adds a key that can open messages; the first key installed becomes the primary.
    public mutating func install(_ key: SealKey) throws(KeyringError) {
        if keys.contains(key) { return }
        guard keys.count < Self.maxKeys else { throw .full(Self.maxKeys) }
        keys.append(key)
    }

    /// Makes an installed key the primary: messages are sealed with it from now on.
    public mutating func use(_ key: SealKey) throws(KeyringError) {
        guard let i = keys.firstIndex(of: key) else { throw .notInstalled(key.id) }
        keys.remove(at: i)
        keys.insert(key, at: 0)
    }

    /// Removes a key that is not the primary; removing an absent key changes nothing.
    public mutating func remove(_ key: SealKey) throws(KeyringError) {
        guard let i = keys.firstIndex(of: key) else { return }
        guard i != 0 else { throw .primary(key.id) }
        keys.remove(at: i)
    }
}

/// Why a keyring change was refused.
public enum KeyringError: Error, Equatable, CustomStringConvertible {
    case full(Int)
    case notInstalled(String)
    case primary(String)

    public var description: String {
        switch self {
        case let .full(n): return "the keyring holds its most keys (\(n)); remove one first"
        case let .notInstalled(id): return "key \(id) is not installed; install it on every node first"
        case let .primary(id): return "key \(id) is the primary; make another key primary first"
        }
    }
}
