/// The name of a lock: 1…256 bytes of UTF-8 without control characters (Unicode `Cc`).
///
/// Names are compared, hashed and sorted by their UTF-8 bytes, not by Swift's Unicode
/// canonical equivalence: "é" precomposed and "e" + combining accent are two locks, as two
/// etcd keys would be. Equality, hashing and order therefore agree, and a prefix listing is a
/// byte-prefix listing. Invariant: every `LockName` in existence passed the rules above.
public struct LockName: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Longest name in UTF-8 bytes.
    public static let maxBytes = 256

    public let text: String

    public init(_ text: String) throws(LockInputError) {
        let n = text.utf8.count
        guard n >= 1 else { throw .invalidName("empty") }
        guard n <= LockName.maxBytes else { throw .invalidName("\(n) bytes, more than \(LockName.maxBytes)") }
        if let bad = text.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw .invalidName("control character U+\(String(bad.value, radix: 16, uppercase: true))")
        }
        self.text = text
    }

    /// Whether the name's bytes begin with `prefix`'s bytes (an empty prefix matches all).
    public func hasBytePrefix(_ prefix: String) -> Bool { text.utf8.starts(with: prefix.utf8) }

    public static func == (a: LockName, b: LockName) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }
    public static func < (a: LockName, b: LockName) -> Bool { a.text.utf8.lexicographicallyPrecedes(b.text.utf8) }
    public func hash(into hasher: inout Hasher) { ByteHashing.combine(text, into: &hasher) }
    public var description: String { text }
}

/// Hashes a string by its UTF-8 bytes (so hashing agrees with byte-wise equality).
enum ByteHashing {
    static func combine(_ text: String, into hasher: inout Hasher) {
        var copy = text
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(text.utf8.count)
    }
}
