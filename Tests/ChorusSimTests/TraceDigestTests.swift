import ChorusBase
import Testing
@testable import ChorusSim

@Suite struct TraceDigestTests {
    @Test func emptyAndKnownInputs_giveFixedDigests() {
        // Golden values: they pin the digest across processes, machines and hash seeds.
        #expect(TraceDigest().hex == "6a09e667f3bcc908bb67ae8584caa73b")
        var digest = TraceDigest()
        digest.mix(UInt64(42))
        digest.mix("crash n7")
        digest.mix(Instant(nanoseconds: 1_500_000_000))
        digest.mix(SimNodeID(7))
        #expect(digest.hex == TraceDigestTests.golden)
        #expect(digest.count == 1 + 2 + 1 + 1)
    }

    static let golden = "5fe3150a9e1fc6df5b68aef437cbac9b"

    @Test func hex_isThirtyTwoLowercaseDigits() {
        var digest = TraceDigest()
        for i in 0..<100 { digest.mix(i) }
        #expect(digest.hex.count == 32)
        #expect(digest.hex.allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test func order_matters() {
        var a = TraceDigest(), b = TraceDigest()
        a.mix(1); a.mix(2)
        b.mix(2); b.mix(1)
        #expect(a != b)
    }

    @Test func stringBoundaries_matter() {
        var a = TraceDigest(), b = TraceDigest()
        a.mix("ab"); a.mix("c")
        b.mix("a"); b.mix("bc")
        #expect(a.hex != b.hex)
    }

    @Test func equalStrings_fromDifferentStorage_digestEqually() {
        var a = TraceDigest(), b = TraceDigest()
        a.mix("héllo, wörld — a longer string that is not stored inline")
        b.mix(String("héllo, wörld — a longer string that is not stored inline".reversed().reversed()))
        #expect(a == b)
    }
}
