extension Ring {
    /// The fraction of the token space each member owns, aligned with `members` (sums to 1
    /// on a non-empty ring). A virtual node owns the arc from the previous virtual node
    /// (exclusive) to its own token (inclusive); a member's share is the sum of its arcs,
    /// which is also the fraction of uniformly hashed keys it is expected to hold.
    ///
    /// Arcs are summed exactly in integers and converted once per member, so a member that
    /// owns the whole ring (alone, or beside members whose tokens all coincide with its own)
    /// gets exactly 1 and the shares sum to 1 within a few ulps.
    public var shares: [Double] {
        // One virtual node: its arc is the whole circle, which the subtraction below would
        // measure as 0.
        if count == 1 { return [1] }
        var owned = [UInt64](repeating: 0, count: members.count)
        // The arcs of all members add up to exactly 2^64, so a member's sum overflows
        // only when it owns all of it.
        var whole = [Bool](repeating: false, count: members.count)
        for i in 0..<count {
            // Wrapping subtraction measures the arc that crosses zero, too.
            let previous = tokens[i == 0 ? count - 1 : i - 1]
            let m = memberIndex(at: i)
            let (sum, overflow) = owned[m].addingReportingOverflow(tokens[i] &- previous)
            owned[m] = sum
            if overflow { whole[m] = true }
        }
        return members.indices.map { whole[$0] ? 1 : Double(owned[$0]) * 0x1p-64 }
    }
}
