extension Ring {
    /// The fraction of the token space each member owns, aligned with `members` (sums to 1
    /// on a non-empty ring). A virtual node owns the arc from the previous virtual node
    /// (exclusive) to its own token (inclusive); a member's share is the sum of its arcs,
    /// which is also the fraction of uniformly hashed keys it is expected to hold.
    public var shares: [Double] {
        var owned = [Double](repeating: 0, count: members.count)
        guard count > 0 else { return owned }
        if count == 1 {
            owned[0] = 1
            return owned
        }
        let scale = 0x1p-64
        for i in 0..<count {
            // Wrapping subtraction measures the arc that crosses zero, too.
            let previous = tokens[i == 0 ? count - 1 : i - 1]
            owned[memberIndex(at: i)] += Double(tokens[i] &- previous) * scale
        }
        return owned
    }
}
