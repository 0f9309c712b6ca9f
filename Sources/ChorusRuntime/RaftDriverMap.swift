import ChorusRaft
import ChorusWire

/// The key-value state machine of the `chorus raft` driver, and the bound that lets its
/// snapshot travel as one InstallSnapshot message.
///
/// The driver sends a snapshot whole (it has no chunked transfer: `ShardHost` has one, for the
/// agent's shards). So the map refuses, when it applies it, a put that would make its image
/// larger than `maxImageBytes` — a little under `RaftCodec.Limits.maxSnapshotBytes` and the
/// peer frame, both 16 MiB. The rule is part of the state machine: every replica applies the
/// same entries and refuses the same puts, so replicas never diverge.
///
/// Invariant: `image().count == imageBytes ≤ maxImageBytes`, so a lagging member always gets
/// a snapshot it can decode.
struct RaftDriverMap {
    /// Room left in a 16 MiB frame for the message header, the configuration (at most 1024
    /// members of ≤ 10 bytes each) and the data's length.
    static let maxImageBytes = RaftCodec.Limits().maxSnapshotBytes - (64 << 10)

    private(set) var values: [ByteKey: [UInt8]] = [:]
    /// `image().count`, kept as entries come and go.
    private(set) var imageBytes = 4
    let maxImageBytes: Int

    init(maxImageBytes: Int = RaftDriverMap.maxImageBytes) { self.maxImageBytes = maxImageBytes }

    static func entryBytes(key: Int, value: Int) -> Int { 8 + key + value }

    /// What applying one put did.
    enum Outcome: Equatable { case applied, refusedFull }

    /// Applies a put unless it would grow the image beyond `maxImageBytes`.
    mutating func put(key: [UInt8], value: [UInt8]) -> Outcome {
        let k = ByteKey(key)
        let old = values[k].map { Self.entryBytes(key: key.count, value: $0.count) } ?? 0
        let grown = imageBytes - old + Self.entryBytes(key: key.count, value: value.count)
        guard grown <= maxImageBytes else { return .refusedFull }
        values[k] = value
        imageBytes = grown
        return .applied
    }

    func value(of key: [UInt8]) -> [UInt8]? { values[ByteKey(key)] }

    /// Keys in byte order: the same image on every replica.
    func image() -> [UInt8] {
        var w = ByteWriter(capacity: imageBytes)
        w.u32(UInt32(values.count))
        for (k, v) in values.sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) {
            w.u32(UInt32(k.bytes.count)); w.raw(k.bytes); w.u32(UInt32(v.count)); w.raw(v)
        }
        return w.bytes
    }

    /// Replaces the map with an image's content (empty data: an empty map). An image larger
    /// than the bound (one written before the bound) is restored as it is; every put that
    /// grows it is then refused.
    mutating func restore(_ data: [UInt8]) throws(WireError) {
        values = [:]
        imageBytes = 4
        guard !data.isEmpty else { return }
        var r = ByteReader(data)
        let n = Int(try r.u32())
        guard n <= r.remaining / 8 else { throw .invalid(field: "raft driver image", reason: "\(n) entries in \(r.remaining) bytes") }
        var bytes = 4
        for _ in 0..<n {
            let k = try r.raw(Int(try r.u32()))
            let v = try r.raw(Int(try r.u32()))
            if let old = values.updateValue(v, forKey: ByteKey(k)) { bytes -= Self.entryBytes(key: k.count, value: old.count) }
            bytes += Self.entryBytes(key: k.count, value: v.count)
        }
        try r.expectEnd()
        imageBytes = bytes
    }
}
