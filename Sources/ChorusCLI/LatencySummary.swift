import ChorusSim

/// Mean and nearest-rank percentiles of a latency sample, in the unit the sample is in
/// (milliseconds in the benchmarks).
///
/// Invariant: built only from a non-empty sample (NaNs are ignored; an empty or all-NaN
/// sample gives `nil`), so `min ≤ p50 ≤ p95 ≤ p99 ≤ max`, `min ≤ mean ≤ max`, and every
/// percentile is a value that was measured (nearest rank, as `Percentiles` defines it).
struct LatencySummary: Equatable, Sendable {
    let count: Int
    let mean: Double
    let min: Double
    let p50: Double
    let p95: Double
    let p99: Double
    let max: Double

    init?(_ values: [Double]) {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard let first = sorted.first, let last = sorted.last else { return nil }
        count = sorted.count
        min = first
        max = last
        // Summed in ascending order, which keeps the rounding error of many small values low;
        // clamped because a sum of equal values can round a hair outside them.
        mean = Swift.min(Swift.max(sorted.reduce(0, +) / Double(sorted.count), first), last)
        p50 = Percentiles.nearestRank(50, sorted: sorted)
        p95 = Percentiles.nearestRank(95, sorted: sorted)
        p99 = Percentiles.nearestRank(99, sorted: sorted)
    }
}
