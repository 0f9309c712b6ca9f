import ChorusBase
import Testing
@testable import ChorusRuntime

@Suite struct RESPRequestParserTests {
    let parser = RESPRequestParser()

    func bytes(_ s: String) -> ArraySlice<UInt8> { Array(s.utf8)[...] }

    @Test func multibulkCommand_isReadWithItsLength() {
        let wire = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n*1\r\n$4\r\nPING\r\n"
        guard case let .command(args, length) = parser.parse(bytes(wire)) else { Issue.record("no command"); return }
        #expect(args == [Array("SET".utf8), Array("key".utf8), Array("va\r\nl".utf8)])
        #expect(length == wire.utf8.count - "*1\r\n$4\r\nPING\r\n".utf8.count)
    }

    @Test func everyPrefix_needsMore_andNeverTraps() {
        let wire = Array("*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n".utf8)
        for n in 0..<wire.count { #expect(parser.parse(wire[..<n]) == .needMore, "prefix \(n)") }
        #expect(parser.parse(wire[...]) == .command(arguments: [Array("GET".utf8), Array("0123456789".utf8)], length: wire.count))
    }

    @Test func inlineCommands_splitOnSpaces() {
        #expect(parser.parse(bytes("PING\r\n")) == .command(arguments: [Array("PING".utf8)], length: 6))
        #expect(parser.parse(bytes("set  k\tv\n")) == .command(arguments: [Array("set".utf8), Array("k".utf8), Array("v".utf8)], length: 9))
        #expect(parser.parse(bytes("\r\n")) == .skip(length: 2))
        #expect(parser.parse(bytes("PIN")) == .needMore)
    }

    @Test func hostileHeaders_areRefused() {
        for wire in ["*99999999999\r\n", "*-5x\r\n", "*2\r\n:3\r\n", "*1\r\n$-2\r\n", "*1\r\n$99999999999\r\n",
                     "*1\r\n$3\r\nabcde", "*1\r\n$\r\n", "*\r\n", "*1\r\n$3\r\nabc\n\n"] {
            guard case .invalid = parser.parse(bytes(wire)) else { Issue.record("accepted \(wire.debugDescription)"); continue }
        }
        var limits = RESPRequestParser.Limits(); limits.maxArguments = 2; limits.maxArgumentBytes = 4; limits.maxLineBytes = 8
        let small = RESPRequestParser(limits: limits)
        guard case .invalid = small.parse(bytes("*3\r\n")) else { Issue.record("too many arguments accepted"); return }
        guard case .invalid = small.parse(bytes("*1\r\n$5\r\n")) else { Issue.record("too long argument accepted"); return }
        guard case .invalid = small.parse(bytes("PING PING PING")) else { Issue.record("too long inline accepted"); return }
    }

    @Test func randomAndMutatedInput_neverTraps_andLengthsStayInside() {
        var rng = SeededRandom(seed: 42)
        let seeds = ["*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", "PING\r\n", "*1\r\n$4\r\nPING\r\n", "*-1\r\n"].map { Array($0.utf8) }
        for round in 0..<100_000 {
            var input: [UInt8]
            if round % 2 == 0, let seed = seeds.randomElement(using: &rng) {
                input = seed
                for _ in 0..<(1 + Int(rng.next() % 4)) where !input.isEmpty {
                    let at = Int(rng.next() % UInt64(input.count))
                    switch rng.next() % 3 {
                    case 0: input[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: input.remove(at: at)
                    default: input.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                    }
                }
            } else {
                input = (0..<Int(rng.next() % 40)).map { _ in [42, 36, 13, 10, 48, 49, 45, 65][Int(rng.next() % 8)] }
            }
            switch parser.parse(input[...]) {
            case let .command(args, length): #expect(length > 0 && length <= input.count && !args.isEmpty)
            case let .skip(length): #expect(length > 0 && length <= input.count)
            case .needMore, .invalid: break
            }
        }
    }

    @Test func replies_encodeAsRESP2() {
        #expect(RESPValue.ok.encoded() == Array("+OK\r\n".utf8))
        #expect(RESPValue.error("ERR bad\r\nthing").encoded() == Array("-ERR bad  thing\r\n".utf8))
        #expect(RESPValue.integer(-7).encoded() == Array(":-7\r\n".utf8))
        #expect(RESPValue.bulk(nil).encoded() == Array("$-1\r\n".utf8))
        #expect(RESPValue.array([.bulk(Array("a".utf8)), .bulk(nil)]).encoded() == Array("*2\r\n$1\r\na\r\n$-1\r\n".utf8))
    }
}
