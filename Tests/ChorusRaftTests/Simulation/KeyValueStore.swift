import ChorusWire
import ChorusRaft

/// A put in the replicated key-value register: `opID` makes every command unique, so an
/// applied entry names the client operation it came from.
struct KeyValueCommand: Hashable {
    var key: String
    var value: String
    var opID: UInt64

    var encoded: [UInt8] {
        var w = ByteWriter()
        w.string(key)
        w.string(value)
        w.varint(opID)
        return w.bytes
    }

    init(key: String, value: String, opID: UInt64) { self.key = key; self.value = value; self.opID = opID }

    init?(decoding bytes: [UInt8]) {
        var r = ByteReader(bytes)
        guard let key = try? r.string("key", limit: 64), let value = try? r.string("value", limit: 64),
              let opID = try? r.varint(), r.isAtEnd else { return nil }
        self.init(key: key, value: value, opID: opID)
    }
}

/// The state machine the simulated group replicates: a map of registers.
/// Invariant: `appliedIndex` is the index of the last entry applied (or of the snapshot
/// the state came from), and the image encodes keys in sorted order.
struct KeyValueStore {
    private(set) var values: [String: String] = [:]
    private(set) var appliedIndex = LogIndex.zero

    init() {}

    init(snapshot: Snapshot) {
        appliedIndex = snapshot.metadata.index
        var r = ByteReader(snapshot.data)
        guard let count = try? r.count("pairs", limit: 1 << 20) else { return }
        for _ in 0..<count {
            guard let k = try? r.string("key", limit: 64), let v = try? r.string("value", limit: 64) else { return }
            values[k] = v
        }
    }

    mutating func apply(_ entry: Entry) {
        appliedIndex = entry.index
        guard case let .command(bytes) = entry.payload, let c = KeyValueCommand(decoding: bytes) else { return }
        values[c.key] = c.value
    }

    var image: [UInt8] {
        var w = ByteWriter()
        w.varint(UInt64(values.count))
        for k in values.keys.sorted() {
            w.string(k)
            w.string(values[k] ?? "")
        }
        return w.bytes
    }

    subscript(key: String) -> String? { values[key] }
}
