/// Who can reach whom: a split of the nodes into groups plus one-way cuts.
///
/// Invariant: `canReach(from:to:)` holds exactly when `from` and `to` are in the same group
/// and no cut blocks the direction `from → to`. It is O(1): each node carries a group number
/// and two 64-bit masks, bit k of `sendMask[a]` meaning "a is on the sending side of cut k" and
/// bit k of `receiveMask[b]` meaning "b is on the receiving side of cut k", so a→b is cut iff
/// the masks share a bit. Hence at most `maximumCuts` cuts at a time; `heal()` clears all.
public struct Partition: Sendable, Equatable {
    /// Cuts held at once (one bit of a `UInt64` each).
    public static let maximumCuts = 64

    public let nodeCount: Int
    @usableFromInline var group: [Int32]
    @usableFromInline var sendMask: [UInt64]
    @usableFromInline var receiveMask: [UInt64]
    /// One-way cuts currently in force.
    public private(set) var cutCount = 0
    /// True when the nodes are split into more than one group.
    public private(set) var isSplit = false

    /// A whole network: everyone reaches everyone.
    public init(nodeCount: Int) {
        precondition(nodeCount >= 0 && nodeCount <= Int(Int32.max), "node count out of range")
        self.nodeCount = nodeCount
        group = Array(repeating: 0, count: nodeCount)
        sendMask = Array(repeating: 0, count: nodeCount)
        receiveMask = Array(repeating: 0, count: nodeCount)
    }

    /// True when no split and no cut is in force.
    public var isWhole: Bool { !isSplit && cutCount == 0 }

    /// Whether a packet from `from` may reach `to` now.
    @inlinable
    public func canReach(from: SimNodeID, to: SimNodeID) -> Bool {
        let a = from.index, b = to.index
        return group[a] == group[b] && (sendMask[a] & receiveMask[b]) == 0
    }

    /// Splits the nodes into `groups`, replacing any earlier split (cuts stay). Nodes listed in
    /// no group form one more group together. A node listed twice is a programmer error (the
    /// scenario loader refuses such input before it gets here).
    public mutating func split(into groups: [[SimNodeID]]) {
        for i in group.indices { group[i] = 0 }
        for (number, members) in groups.enumerated() {
            for node in members {
                precondition(group[node.index] == 0, "node \(node) listed in two partition groups")
                group[node.index] = Int32(number + 1)
            }
        }
        isSplit = group.contains { $0 != group.first }
    }

    /// Separates `nodes` from everyone else (they still reach each other).
    public mutating func isolate(_ nodes: [SimNodeID]) {
        split(into: [nodes])
    }

    /// Blocks every direction `a → b` with `a` in `from` and `b` in `to`; the reverse stays
    /// open unless cut separately. Needs `cutCount < maximumCuts`.
    public mutating func cut(from: [SimNodeID], to: [SimNodeID]) {
        precondition(cutCount < Partition.maximumCuts, "more than \(Partition.maximumCuts) one-way cuts at once")
        let bit: UInt64 = 1 << UInt64(cutCount)
        for node in from { sendMask[node.index] |= bit }
        for node in to { receiveMask[node.index] |= bit }
        cutCount += 1
    }

    /// Removes every split and cut.
    public mutating func heal() {
        for i in 0..<nodeCount {
            group[i] = 0
            sendMask[i] = 0
            receiveMask[i] = 0
        }
        cutCount = 0
        isSplit = false
    }
}
