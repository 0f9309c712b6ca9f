import Testing
import ChorusBase
import ChorusWire
@testable import ChorusMembership

@Suite struct PacketCodecTests {
    static let a = Endpoint(parsing: "10.0.0.1:7946")!
    static let b = Endpoint(parsing: "[fd00::2]:7946")!

    static func samplePackets() throws -> [Packet] {
        let tags = try Tags(["zone": "eu-1", "role": "db"])
        let updates = [
            MemberUpdate(name: "n1", address: a, incarnation: 3, status: .alive, tags: tags),
            MemberUpdate(name: "n2", address: b, incarnation: 7, status: .suspect, accusers: ["n1", "n3"]),
            MemberUpdate(name: "n3", address: a, incarnation: 0, status: .dead),
            MemberUpdate(name: "n4", address: b, incarnation: UInt32.max, status: .left),
        ]
        return [
            Packet(cluster: 1, sender: "n1", message: .ping(seq: 1, target: "n2"), updates: updates),
            Packet(cluster: 2, sender: "n1", message: .pingReq(seq: 99, target: "n2", address: b, timeout: .milliseconds(250))),
            Packet(cluster: 3, sender: "ñødé", message: .ack(seq: UInt32.max)),
            Packet(cluster: 4, sender: "n1", message: .nack(seq: 0), updates: updates),
            Packet(cluster: 5, sender: "n1", message: .gossip, updates: updates),
            Packet(cluster: 6, sender: "n1", message: .pushPull(PushPull(isJoin: true, isResponse: false, members: updates))),
            Packet(cluster: 7, sender: "n1", message: .pushPull(PushPull(isJoin: false, isResponse: true, members: []))),
            Packet(cluster: 8, sender: "n1", message: .pushPull(PushPull(isJoin: false, phase: .request, digest: [1, 2, UInt64.max, 0], members: Array(updates.prefix(1))))),
            Packet(cluster: 9, sender: "n1", message: .pushPull(digestReply(buckets: [0, 3, 7], of: 8, updates))),
            Packet(cluster: 10, sender: "n1", message: .pushPull(PushPull(isJoin: false, phase: .push, members: updates))),
        ]
    }

    static func digestReply(buckets: [UInt32], of count: Int, _ members: [MemberUpdate]) -> PushPull {
        var p = PushPull(isJoin: false, phase: .response, buckets: buckets, members: members)
        p.bucketCount = count
        return p
    }

    @Test func everyMessageRoundTripsAndSizeMatches() throws {
        for p in try Self.samplePackets() {
            let bytes = PacketCodec.encode(p)
            #expect(bytes.count == PacketCodec.size(p))
            #expect(try PacketCodec.decode(bytes) == p)
        }
    }

    @Test func truncationAtEveryOffsetIsAnError() throws {
        for p in try Self.samplePackets() {
            let bytes = PacketCodec.encode(p)
            for cut in 0..<bytes.count {
                #expect(throws: WireError.self) { try PacketCodec.decode(Array(bytes[0..<cut])) }
            }
            #expect(throws: WireError.self) { try PacketCodec.decode(bytes + [0]) }
        }
    }

    @Test func wrongMagicAndVersionAreNamed() throws {
        var bytes = PacketCodec.encode(try Self.samplePackets()[2])
        bytes[0] = 0
        #expect(throws: WireError.invalid(field: "magic", reason: "not a Chorus packet")) { try PacketCodec.decode(bytes) }
        bytes[0] = PacketCodec.magic.0
        bytes[2] = 9
        #expect(throws: WireError.invalid(field: "version", reason: "unsupported protocol version 9")) { try PacketCodec.decode(bytes) }
    }

    @Test func hostileCountsDoNotAllocate() {
        // A push-pull claiming four billion members in a tiny packet.
        var w = ByteWriter()
        w.u8(0x43); w.u8(0x48); w.u8(1); w.u8(6); w.u32(0); w.string("x"); w.u8(0)
        w.varint(UInt64(UInt32.max))
        #expect(throws: WireError.self) { try PacketCodec.decode(w.bytes) }
    }

    /// 100,000+ random and mutated packets through the decoder: every one decodes or fails
    /// with an error, and whatever decodes re-encodes to a packet that decodes the same.
    @Test func decoderSurvivesRandomAndMutatedInput() throws {
        var rng = SeededRandom(seed: 0xC0FFEE)
        let seeds = try Self.samplePackets().map(PacketCodec.encode)
        var decoded = 0, refused = 0
        for i in 0..<120_000 {
            var bytes: [UInt8]
            if i % 4 == 0 {
                bytes = (0..<rng.below(200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if i % 8 == 0 && bytes.count > 3 { bytes[0] = 0x43; bytes[1] = 0x48; bytes[2] = 1 }
            } else {
                bytes = seeds[rng.below(seeds.count)]
                for _ in 0..<(1 + rng.below(4)) {
                    switch rng.below(4) {
                    case 0 where !bytes.isEmpty: bytes[rng.below(bytes.count)] ^= UInt8(1 << rng.below(8))
                    case 1 where !bytes.isEmpty: bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
                    case 2 where !bytes.isEmpty: bytes.removeSubrange(rng.below(bytes.count)...)
                    default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(bytes.count + 1))
                    }
                }
            }
            do {
                let p = try PacketCodec.decode(bytes)
                decoded += 1
                #expect(try PacketCodec.decode(PacketCodec.encode(p)) == p)
            } catch {
                refused += 1
            }
        }
        #expect(decoded + refused == 120_000)
        #expect(decoded > 0 && refused > 0)
    }

    @Test func clusterIDsDifferByName() {
        #expect(ClusterID.from(name: "alpha") != ClusterID.from(name: "beta"))
        #expect(ClusterID.from(name: "chorus") == ClusterID.from(name: "chorus"))
    }
}
