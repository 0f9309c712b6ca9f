import ChorusBase
import Foundation
import Testing
@testable import ChorusSim

@Suite struct LatencyModelTests {
    /// 20,000 samples in milliseconds, sorted.
    private func samples(_ model: LatencyModel, seed: UInt64 = 11) -> [Double] {
        var rng = SeededRandom(seed: seed)
        return (0..<20_000).map { _ in model.sample(using: &rng).milliseconds }.sorted()
    }

    private func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
    private func median(_ values: [Double]) -> Double { values[values.count / 2] }

    @Test func constant_isExact() {
        #expect(Set(samples(.constant(.milliseconds(3)))) == [3.0])
    }

    @Test func uniform_staysInRange_withMeanInTheMiddle() {
        let values = samples(.uniform(low: .milliseconds(2), high: .milliseconds(10)))
        #expect(values.first! >= 2 && values.last! <= 10)
        #expect(abs(mean(values) - 6) < 0.1)
    }

    @Test func normal_matchesMeanAndSpread() {
        let values = samples(.normal(mean: .milliseconds(50), stddev: .milliseconds(5)))
        let m = mean(values)
        let sd = (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count)).squareRoot()
        #expect(abs(m - 50) < 0.3)
        #expect(abs(sd - 5) < 0.3)
    }

    @Test func normal_isClampedAtZero() {
        let values = samples(.normal(mean: .milliseconds(1), stddev: .milliseconds(5)))
        #expect(values.first! == 0)
        #expect(values.contains { $0 > 0 })
    }

    @Test func lognormal_medianIsTheParameter() {
        let values = samples(.lognormal(median: .milliseconds(20), sigma: 0.8))
        #expect(abs(median(values) - 20) < 1)
        #expect(abs(mean(values) - 20 * exp(0.32)) < 1.5)  // e^(σ²/2)
    }

    @Test func pareto_neverBelowMinimum_andMedianMatches() {
        let values = samples(.pareto(minimum: .milliseconds(4), shape: 2))
        #expect(values.first! >= 4)
        #expect(abs(median(values) - 4 * pow(2, 0.5)) < 0.2)  // x_m · 2^(1/α)
    }

    @Test func heavyPareto_isCapped() {
        let values = samples(.pareto(minimum: .seconds(1 as Int64), shape: 0.05))
        #expect(values.last! <= LatencyModel.maximumSample.milliseconds)
    }

    @Test func base_isAddedToEverySample() {
        let values = samples(LatencyModel.uniform(low: .zero, high: .milliseconds(1)).adding(base: .milliseconds(10)))
        #expect(values.first! >= 10 && values.last! <= 11)
        #expect(LatencyModel.constant(.zero).adding(base: .zero) == .constant(.zero))
    }

    @Test func sameSeed_sameSamples() {
        let model = LatencyModel.lognormal(median: .milliseconds(5), sigma: 0.5)
        #expect(samples(model, seed: 3) == samples(model, seed: 3))
        #expect(samples(model, seed: 3) != samples(model, seed: 4))
    }

    @Test func validate_namesTheBadParameter() {
        #expect(throws: SimSettingError.self) { try LatencyModel.constant(.milliseconds(-1)).validate() }
        do {
            try LatencyModel.uniform(low: .milliseconds(5), high: .milliseconds(1)).validate(field: "network.latency")
            Issue.record("expected an error")
        } catch {
            #expect(error.field == "network.latency.high")
        }
        do {
            try LatencyModel.pareto(minimum: .milliseconds(1), shape: 0).adding(base: .milliseconds(1)).validate()
            Issue.record("expected an error")
        } catch {
            #expect(error.field == "latency.shape")
        }
        #expect(throws: Never.self) { try LatencyModel.lognormal(median: .milliseconds(1), sigma: 0.3).validate() }
    }
}
