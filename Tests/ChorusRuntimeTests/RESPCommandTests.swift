import ChorusBase
import Testing
@testable import ChorusRuntime

/// The RESP2 reader: arrays of bulk strings and inline commands, pipelined commands one at a
/// time, partial input asks for more, and no input — random or mutated — makes it trap.
@Suite struct RESPCommandTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func arrayOfBulkStrings_isOneCommand_andPipelinedOnesAreReadInTurn() {
        let two = Self.bytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n")
        guard case let .command(args, consumed) = RESPCommand.parse(two) else { Issue.record("not a command"); return }
        #expect(args == [Self.bytes("GET"), Self.bytes("k")])
        #expect(RESPCommand.parse(Array(two[consumed...])) == .command([Self.bytes("PING")], consumed: 14))
    }

    @Test func inlineCommand_splitsOnSpaces_andAcceptsALoneNewline() {
        #expect(RESPCommand.parse(Self.bytes("SET  k v\r\n")) == .command([Self.bytes("SET"), Self.bytes("k"), Self.bytes("v")], consumed: 10))
        #expect(RESPCommand.parse(Self.bytes("PING\n")) == .command([Self.bytes("PING")], consumed: 5))
    }

    @Test func partialInput_asksForMore_andBadFramingFails() {
        let full = Self.bytes("*2\r\n$3\r\nSET\r\n$5\r\nhello\r\n")
        for cut in 0..<full.count { #expect(RESPCommand.parse(Array(full[..<cut])) == .needMore, "cut at \(cut)") }
        #expect({ if case .failure = RESPCommand.parse(Self.bytes("*0\r\n")) { return true }; return false }())
        #expect({ if case .failure = RESPCommand.parse(Self.bytes("*1\r\n+OK\r\n")) { return true }; return false }())
        #expect({ if case .failure = RESPCommand.parse(Self.bytes("*1\r\n$2\r\nabc\r\n")) { return true }; return false }())
        #expect({ if case .failure = RESPCommand.parse(Self.bytes("*1\r\n$99999999999\r\n")) { return true }; return false }())
    }

    @Test func replies_encodeAsRESP2() {
        #expect(RESPReply.simple("OK").encoded == Self.bytes("+OK\r\n"))
        #expect(RESPReply.error("ERR a\r\nb").encoded == Self.bytes("-ERR ab\r\n"))
        #expect(RESPReply.integer(1).encoded == Self.bytes(":1\r\n"))
        #expect(RESPReply.bulk(nil).encoded == Self.bytes("$-1\r\n"))
        #expect(RESPReply.bulk(Self.bytes("hi")).encoded == Self.bytes("$2\r\nhi\r\n"))
    }

    /// 50,000 random and mutated inputs never trap, and a command never claims more bytes
    /// than it was given.
    @Test func randomAndMutatedInputs_neverTrap() {
        var rng = SeededRandom(seed: 6379)
        let seeds = [Self.bytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), Self.bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"), Self.bytes("PING\r\n")]
        for i in 0..<50_000 {
            var b = seeds[Int(rng.next() % UInt64(seeds.count))]
            if i % 4 == 0 { b = (0..<Int(rng.next() % 32)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            for _ in 0..<(1 + Int(rng.next() % 3)) where !b.isEmpty {
                let at = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 3 {
                case 0: b[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.remove(at: at)
                default: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                }
            }
            if case let .command(_, consumed) = RESPCommand.parse(b) { #expect(consumed <= b.count) }
        }
    }
}
