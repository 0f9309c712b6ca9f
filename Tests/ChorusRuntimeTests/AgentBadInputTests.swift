import ChorusBase
import ChorusMembership
import ChorusWire
import Foundation
import Glibc
import Testing
@testable import ChorusRuntime

/// Bad input reaching a running agent: it is dropped, counted in /metrics and logged, and the
/// agent keeps working.
@Suite struct AgentBadInputTests {

    @Test func garbageOversizedAndForeignDatagrams_areCountedAndTheAgentStillAnswersPings() throws {
        let node = try TestAgent(name: "n1")
        defer { node.stop() }
        let client = try UDPSocket(bind: Endpoint(ip: .loopbackV4, port: 0))

        try client.send(Array("hello, not a packet".utf8), to: node.gossip)
        try client.send([UInt8](repeating: 0xAB, count: 20_000), to: node.gossip)
        let foreign = Packet(cluster: ClusterID.from(name: "another-cluster"), sender: "stranger", message: .ping(seq: 1, target: "n1"))
        try client.send(PacketCodec.encode(foreign), to: node.gossip)
        let valid = PacketCodec.encode(Packet(cluster: ClusterID.from(name: "chorus"), sender: "prober", message: .ping(seq: 7, target: "n1")))
        try client.send(Array(valid.dropLast(2)), to: node.gossip)

        #expect(eventually { node.metric(#"chorus_packets_dropped_total{reason="decode_error"}"#) == 2 })
        #expect(node.metric(#"chorus_packets_dropped_total{reason="oversized"}"#) == 1)
        #expect(node.metric(#"chorus_packets_dropped_total{reason="wrong_cluster"}"#) == 1)
        #expect(node.logged("dropped undecodable packet"))
        #expect(node.logged("dropped oversized datagram"))
        #expect(node.logged("dropped packet of another cluster"))

        // Still alive: a well-formed ping gets its ack.
        try client.send(valid, to: node.gossip)
        var ack: Packet?
        _ = eventually {
            if let (bytes, _) = try? client.receive(), let p = try? PacketCodec.decode(bytes) { ack = p }
            return ack != nil
        }
        #expect(ack?.message == .ack(seq: 7))
        #expect(try node.request("/health").status == 200)
    }

    @Test func truncatedOversizedAndUndecodableFrames_areLoggedAndCounted() throws {
        let node = try TestAgent(name: "n1")
        defer { node.stop() }

        let truncated = try #require(RawTCPClient(connectTo: node.gossip))
        truncated.write([0, 0, 0, 100] + [UInt8](repeating: 1, count: 10))
        truncated.shutdownWrite()
        #expect(truncated.peerClosed())
        #expect(eventually { node.metric(#"chorus_packets_dropped_total{reason="truncated_frame"}"#) == 1 })
        #expect(node.logged("peer stream ended mid-frame"))

        let oversized = try #require(RawTCPClient(connectTo: node.gossip))
        oversized.write([0x7F, 0xFF, 0xFF, 0xFF])
        #expect(oversized.peerClosed())
        #expect(eventually { node.metric(#"chorus_packets_dropped_total{reason="oversized_frame"}"#) == 1 })

        let garbage = try #require(RawTCPClient(connectTo: node.gossip))
        garbage.write(Frame.encode(Array("not a packet".utf8)))
        #expect(eventually { node.metric(#"chorus_packets_dropped_total{reason="decode_error"}"#) == 1 })
        #expect(try node.request("/health").status == 200)
    }

    @Test func malformedHTTP_gets400_andIsCounted() throws {
        let node = try TestAgent(name: "n1")
        defer { node.stop() }
        let raw = try #require(RawTCPClient(connectTo: node.agent.apiEndpoint))
        raw.write("NOT HTTP AT ALL\r\n\r\n")
        let answer = String(decoding: raw.readToEnd(), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 400"))
        #expect(answer.contains(#""error""#))
        #expect(eventually { node.metric(#"chorus_http_requests_refused_total{code="bad_request"}"#) == 1 })
        #expect(try node.request("/health").status == 200)
    }

    @Test func unreachableSeed_isRetriedWithBackoff_andLogged() throws {
        let node = try TestAgent(name: "n1", seeds: ["127.0.0.1:1", "no-such-host.invalid:7946"]) {
            $0.membership.joinTimeout = .milliseconds(100)
        }
        defer { node.stop() }
        #expect(eventually { node.logged("no seed answered the join; retrying with backoff") })
        #expect(node.logged("cannot resolve seed"))
        #expect((node.metric("chorus_join_retries_total") ?? 0) >= 1)
        #expect(try node.request("/health").status == 200)
    }
}
