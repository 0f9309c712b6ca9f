import ChorusBase
import Testing
@testable import ChorusMembership
@testable import ChorusRuntime

/// The core's counters reach `/metrics`: each mirrored series shows the core's count.
@Suite struct AgentMetricsTests {
    @Test func coreCounters_areExportedWithTheirCounts() throws {
        var m = try Membership(name: "a", address: Endpoint(ip: IPAddress(ipv4: 0x7F00_0001), port: 7946),
                               incarnation: 0, settings: MembershipSettings(), seed: 1, now: .zero)
        m.counters.streamProbes = 3
        m.counters.streamProbeAnswers = 2
        m.counters.updatesStreamed = 5
        m.counters.updatesReceived = 11
        m.counters.updatesApplied = 7
        m.counters.updatesRefused = 1
        let metrics = AgentMetrics()
        metrics.refresh(from: m, uptime: 1, inboundStreams: 0, outboundStreams: 0)
        let text = metrics.render()
        for line in ["chorus_stream_probes_total{result=\"sent\"} 3", "chorus_stream_probes_total{result=\"answered\"} 2",
                     "chorus_updates_streamed_total 5", "chorus_member_updates_total{outcome=\"received\"} 11",
                     "chorus_member_updates_total{outcome=\"applied\"} 7", "chorus_member_updates_total{outcome=\"refused\"} 1"] {
            #expect(text.contains(line), "\(line)")
        }
        // Counts only grow: a second scrape with the same counts adds nothing.
        metrics.refresh(from: m, uptime: 2, inboundStreams: 0, outboundStreams: 0)
        #expect(metrics.render().contains("chorus_updates_streamed_total 5"))
    }
}
