/// The name of a queue: 1…80 bytes of ASCII letters, digits, `-`, `_` and `.` (SQS's rule for
/// queue names, with `.` so that a `.fifo`-style suffix fits). `/` is excluded because the
/// ring places partition `p` of queue `q` by the text `q/p`.
/// Invariant: every `QueueName` in existence passed these rules.
public struct QueueName: QueueText {
    public static let maxBytes = 80
    public let text: String

    public init(_ text: String) throws(QueueInputError) {
        let checked = try Self.checked(text, what: "queue name")
        if let bad = checked.utf8.first(where: { !QueueName.allowed($0) }) {
            throw QueueInputError("queue name holds '\(Character(Unicode.Scalar(bad)))'; only A-Z a-z 0-9 - _ . are allowed")
        }
        self.text = checked
    }

    static func allowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}

/// One partition of one queue. Invariant: `index < ` the queue's partition count (checked by
/// whoever builds it from the catalogue; `PartitionChoice` only returns such indices).
public struct PartitionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let queue: QueueName
    public let index: UInt16

    public init(queue: QueueName, index: UInt16) { self.queue = queue; self.index = index }

    /// The text the ring hashes to find the shard that holds this partition: `q/p`.
    public var placementKey: String { "\(queue.text)/\(index)" }
    public var description: String { placementKey }
    public static func < (a: PartitionID, b: PartitionID) -> Bool { (a.queue, a.index) < (b.queue, b.index) }
}
