import ChorusWire

/// A member's key=value labels, kept sorted by key so that equal tag sets compare, encode
/// and print identically on every node. Invariant: keys are unique and sorted; the encoded
/// size is at most `Tags.maxEncodedBytes`.
public struct Tags: Hashable, Sendable, Sequence, CustomStringConvertible {
    /// Bound on the encoded size so that an alive update with tags fits a gossip datagram
    /// next to other updates (memberlist's node meta limit is 512 bytes; we keep the same).
    public static let maxEncodedBytes = 512

    public private(set) var pairs: [(key: String, value: String)]

    public init() { pairs = [] }

    /// Builds tags from pairs; fails with a message when keys repeat, are empty, or the set
    /// is too large.
    public init(validating input: [(String, String)]) throws(TagsError) {
        var sorted = input.sorted { $0.0 < $1.0 }.map { (key: $0.0, value: $0.1) }
        for i in sorted.indices {
            if sorted[i].key.isEmpty { throw TagsError("tag key must not be empty") }
            if sorted[i].key.contains("=") { throw TagsError("tag key \"\(sorted[i].key)\" must not contain '='") }
            if i > 0 && sorted[i - 1].key == sorted[i].key { throw TagsError("tag key \"\(sorted[i].key)\" repeats") }
        }
        sorted = sorted.map { (key: $0.key, value: $0.value) }
        self.pairs = sorted
        if encodedSize > Tags.maxEncodedBytes {
            throw TagsError("tags take \(encodedSize) bytes encoded; the limit is \(Tags.maxEncodedBytes)")
        }
    }

    public init(_ dictionary: [String: String]) throws(TagsError) {
        try self.init(validating: dictionary.map { ($0.key, $0.value) })
    }

    public subscript(key: String) -> String? { pairs.first { $0.key == key }?.value }
    public var isEmpty: Bool { pairs.isEmpty }
    public var count: Int { pairs.count }
    public var dictionary: [String: String] { Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }) }

    /// Returns tags with `changes` applied (a nil value deletes the key).
    public func applying(_ changes: [(String, String?)]) throws(TagsError) -> Tags {
        var d = dictionary
        for (k, v) in changes { d[k] = v }
        return try Tags(d)
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: String)]> { pairs.makeIterator() }

    public var encodedSize: Int {
        var n = ByteWriter.varintSize(UInt64(pairs.count))
        for p in pairs { n += ByteWriter.stringSize(p.key) + ByteWriter.stringSize(p.value) }
        return n
    }

    public func encode(into w: inout ByteWriter) {
        w.varint(UInt64(pairs.count))
        for p in pairs { w.string(p.key); w.string(p.value) }
    }

    public static func decode(from r: inout ByteReader) throws(WireError) -> Tags {
        let n = try r.count("tag count", limit: 64)
        if n == 0 { return Tags() }
        var list: [(String, String)] = []
        list.reserveCapacity(n)
        for _ in 0..<n {
            let k = try r.string("tag key", limit: Tags.maxEncodedBytes)
            let v = try r.string("tag value", limit: Tags.maxEncodedBytes)
            list.append((k, v))
        }
        do { return try Tags(validating: list) } catch { throw WireError.invalid(field: "tags", reason: error.message) }
    }

    public static func == (a: Tags, b: Tags) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
    public func hash(into h: inout Hasher) { for p in pairs { h.combine(p.key); h.combine(p.value) } }

    public var description: String { pairs.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
}

/// Why a tag set was refused.
public struct TagsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
