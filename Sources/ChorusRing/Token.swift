/// A position on the ring. The ring is the 2^64 values of `UInt64` in a circle: clockwise is
/// increasing, and `UInt64.max` is followed by 0.
///
/// Invariant: a token is derived only from bytes every node agrees on (a key, or a member
/// name and a virtual node index) through `XXHash64`, so any two nodes compute the same
/// token for the same thing, in any process.
public struct Token: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64

    @inlinable public init(_ value: UInt64) { self.value = value }

    /// Seed for keys. Zero, so a key's token is the plain xxHash64 of its UTF-8 bytes and can
    /// be checked with any xxHash implementation (docs/ring.md shows how).
    public static let keySeed: UInt64 = 0
    /// Seed for virtual nodes, different from `keySeed` so that no key can be chosen to sit
    /// exactly on a node's token by accident of encoding. Part of the ring's definition:
    /// changing it moves every virtual node.
    public static let virtualNodeSeed: UInt64 = 0x6368_6F72_7573_5631 // "chorusV1"

    /// The token of a key (a cache key, a lock name, a queue partition name).
    public init(key: String) { self.value = XXHash64.hash(key, seed: Token.keySeed) }

    /// The token of virtual node `index` of `member`: xxHash64 of the member name's UTF-8
    /// bytes followed by the index as 4 little-endian bytes, under `virtualNodeSeed`. The
    /// index has a fixed width, so distinct (name, index) pairs are distinct byte strings.
    public static func virtualNode(of member: String, index: Int) -> Token {
        var out: [UInt64] = []
        virtualNodes(of: member, count: index + 1, into: &out)
        return Token(out[index])
    }

    /// Appends the tokens of virtual nodes `0..<count` of `member` to `tokens`, hashing from
    /// one buffer whose last four bytes are rewritten per index (the ring's build path).
    static func virtualNodes(of member: String, count: Int, into tokens: inout [UInt64]) {
        precondition(count >= 0 && count <= Int(UInt32.max), "virtual node count out of range")
        var bytes = Array(member.utf8)
        let base = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0])
        bytes.withUnsafeMutableBytes { buffer in
            for i in 0..<count {
                let le = UInt32(i).littleEndian
                withUnsafeBytes(of: le) { word in
                    for j in 0..<4 { buffer[base + j] = word[j] }
                }
                tokens.append(XXHash64.hash(UnsafeRawBufferPointer(buffer), seed: virtualNodeSeed))
            }
        }
    }

    @inlinable public static func < (a: Token, b: Token) -> Bool { a.value < b.value }

    /// Sixteen hex digits, so tokens line up in tables.
    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
