extension Ring {
    /// A fingerprint of the whole ring: xxHash64 of a canonical encoding of V, the members
    /// and every virtual node in ring order. Two nodes (or two processes, or two runs) hold
    /// the same ring exactly when their digests match, so a log line or a test can compare
    /// rings without printing them.
    ///
    /// Encoding, all integers little-endian: "chorus-ring/1", V (u32), member count (u32),
    /// each member as length (u32) and UTF-8 bytes, then each virtual node as token (u64)
    /// and slot (u32, member index · V + virtual node index).
    public var digest: UInt64 {
        var bytes: [UInt8] = Array("chorus-ring/1".utf8)
        bytes.reserveCapacity(bytes.count + 8 + members.reduce(0) { $0 + 4 + $1.utf8.count } + 12 * count)
        func put<T: FixedWidthInteger>(_ x: T) {
            withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
        }
        put(UInt32(virtualNodesPerMember))
        put(UInt32(members.count))
        for name in members {
            put(UInt32(name.utf8.count))
            bytes.append(contentsOf: name.utf8)
        }
        for i in 0..<count {
            put(tokens[i])
            put(slots[i])
        }
        return XXHash64.hash(bytes)
    }

    /// `digest` as sixteen hex digits.
    public var digestHex: String { Token(digest).description }
}
