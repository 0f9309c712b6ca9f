/// Summary statistics of a sample: nearest-rank percentiles, minimum, maximum and mean.
///
/// Invariant: built only from a non-empty sample of numbers (NaNs are ignored; an empty or
/// all-NaN sample gives `nil`), so `min ≤ p50 ≤ p90 ≤ p99 ≤ max` and every percentile is a
/// value that occurs in the sample. Nearest rank: the p-th percentile of n sorted values is
/// the value at 1-based rank ⌈p/100 · n⌉ (rank 1 for p = 0), so no interpolation invents
/// values that were never measured.
public struct Percentiles: Sendable, Equatable, CustomStringConvertible {
    public let count: Int
    public let min: Double
    public let p50: Double
    public let p90: Double
    public let p99: Double
    public let max: Double
    public let mean: Double

    public init?(_ values: [Double]) {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard let first = sorted.first, let last = sorted.last else { return nil }
        count = sorted.count
        min = first
        max = last
        p50 = Percentiles.nearestRank(50, sorted: sorted)
        p90 = Percentiles.nearestRank(90, sorted: sorted)
        p99 = Percentiles.nearestRank(99, sorted: sorted)
        mean = sorted.reduce(0, +) / Double(sorted.count)
    }

    /// The nearest-rank `percent`-th percentile (0...100) of `sorted`, which must be sorted
    /// ascending and non-empty.
    public static func nearestRank(_ percent: Double, sorted: [Double]) -> Double {
        precondition(!sorted.isEmpty, "percentile of an empty sample")
        precondition(percent >= 0 && percent <= 100, "percentile must lie in 0...100")
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }

    public var description: String {
        "n=\(count) min=\(min) p50=\(p50) p90=\(p90) p99=\(p99) max=\(max) mean=\(mean)"
    }
}
