/// A simulated node, named by its index in the cluster.
///
/// Invariant: in a simulation of `n` nodes every `SimNodeID` in use has `0 <= rawValue < n`, so
/// it indexes per-node arrays directly (no hashing on the hot path). A typed identifier keeps a
/// node index from being mixed up with a count, a port or a message number.
public struct SimNodeID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: Int32

    @inlinable public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// Traps when `index` does not fit an `Int32` (a programmer error: clusters are far smaller).
    @inlinable public init(_ index: Int) { self.rawValue = Int32(index) }

    /// The node's position in per-node arrays.
    @inlinable public var index: Int { Int(rawValue) }

    @inlinable public static func < (a: SimNodeID, b: SimNodeID) -> Bool { a.rawValue < b.rawValue }

    public var description: String { "n\(rawValue)" }

    /// Encoded as a bare JSON integer, as scenario files write node ids.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            rawValue = try container.decode(Int32.self)
        } catch {
            // Foundation reports an unrepresentable number (1.5, 1e12) as invalid JSON with no
            // path; say what is wrong, and where.
            guard let number = try? container.decode(Double.self) else { throw error }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "node id must be a whole number in 0...\(Int32.max) (got \(number))"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
