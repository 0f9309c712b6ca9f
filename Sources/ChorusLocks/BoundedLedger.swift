/// An insertion-ordered map that keeps at most `capacity` entries, evicting the oldest.
/// Used for tombstones, recent `openSession` ids and per-session request records.
///
/// Invariant: `values.count == order.count - head <= capacity`, and `order[head...]` lists
/// the keys of `values` oldest first. Iteration follows that order, never hash order.
struct BoundedLedger<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    let capacity: Int
    private var order: [Key] = []
    private var head = 0
    private var values: [Key: Value] = [:]

    init(capacity: Int) {
        precondition(capacity >= 1, "BoundedLedger needs a positive capacity")
        self.capacity = capacity
    }

    var count: Int { values.count }
    var isEmpty: Bool { values.isEmpty }

    subscript(key: Key) -> Value? { values[key] }

    /// Sets `key` to `value`: in place when present (it keeps its age), else as the newest
    /// entry, evicting the oldest when full.
    mutating func record(_ key: Key, _ value: Value) {
        if values.updateValue(value, forKey: key) != nil { return }
        order.append(key)
        if values.count > capacity {
            values[order[head]] = nil
            head += 1
            if head >= 64 && head * 2 >= order.count {
                order.removeFirst(head)
                head = 0
            }
        }
    }

    /// Entries oldest first.
    var entries: [(key: Key, value: Value)] {
        order[head...].map { key in
            guard let value = values[key] else { preconditionFailure("BoundedLedger order and values disagree") }
            return (key, value)
        }
    }
}

extension BoundedLedger: Equatable where Value: Equatable {
    static func == (a: BoundedLedger, b: BoundedLedger) -> Bool {
        a.capacity == b.capacity && a.count == b.count
            && a.entries.elementsEqual(b.entries) { $0.key == $1.key && $0.value == $1.value }
    }
}
