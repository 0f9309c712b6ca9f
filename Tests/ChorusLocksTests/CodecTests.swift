import ChorusBase
import ChorusWire
import XCTest
@testable import ChorusLocks

/// Random well-formed commands.
struct CommandGenerator {
    var rng: SeededRandom

    mutating func number() -> UInt64 { rng.below(3) == 0 ? rng.next() : UInt64(rng.below(100_000)) }
    mutating func text(_ maxBytes: Int) -> String {
        let alphabet = Array("abcxyz/-_.0189éü✓ ")
        var out = ""
        let n = 1 + rng.below(maxBytes)
        while out.utf8.count < n {
            let c = alphabet[rng.below(alphabet.count)]
            if out.utf8.count + String(c).utf8.count > maxBytes { break }
            out.append(c)
        }
        return out.isEmpty ? "a" : out
    }
    mutating func session() -> SessionID {
        SessionID(home: UInt16(truncatingIfNeeded: rng.next()), index: number(), openedAtMillis: number())
    }
    mutating func name() -> LockName { lock(text(rng.below(2) == 0 ? 12 : LockName.maxBytes)) }
    mutating func request() -> RequestID { req(text(rng.below(2) == 0 ? 8 : RequestID.maxBytes)) }

    mutating func command() -> LockCommand {
        switch rng.below(7) {
        case 0: return .openSession(ttlMillis: number(), openedAtMillis: number(), requestID: request())
        case 1: return .closeSession(session(), requestID: request())
        case 2: return .expireSession(session())
        case 3: return .dropSession(session())
        case 4: return .acquire(name: name(), session: session(), mode: rng.below(2) == 0 ? .exclusive : .shared,
                                waitMillis: number(), requestID: request())
        case 5: return .release(name: name(), session: session(), requestID: request())
        default: return .cancelWait(name: name(), session: session(), requestID: request(),
                                    reason: rng.below(2) == 0 ? .timeout : .deadlock)
        }
    }
}

final class CodecTests: XCTestCase {
    func test_everyCommandKind_roundTrips() throws {
        var gen = CommandGenerator(rng: SeededRandom(seed: 1))
        var kinds = Set<UInt8>()
        for _ in 0..<5_000 {
            let c = gen.command()
            let bytes = LockCodec.encode(c)
            kinds.insert(bytes[1])
            XCTAssertEqual(try LockCodec.decodeCommand(bytes), c)
        }
        XCTAssertEqual(kinds, Set(1...7))
    }

    func test_decoder_onFiftyThousandRandomAndMutatedInputs_neverTraps_andWhatItAcceptsReencodesStably() {
        var gen = CommandGenerator(rng: SeededRandom(seed: 2))
        var rng = SeededRandom(seed: 3)
        var decoded = 0
        for round in 0..<60_000 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<rng.below(40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if rng.below(2) == 0 && !bytes.isEmpty { bytes[0] = LockCodec.version }
                if rng.below(2) == 0 && bytes.count > 1 { bytes[1] = UInt8(1 + rng.below(8)) }
            } else {
                bytes = LockCodec.encode(gen.command())
                for _ in 0..<(1 + rng.below(3)) {
                    switch rng.below(5) {
                    case 0: bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes[rng.below(bytes.count)] ^= UInt8(1) << UInt8(rng.below(8))
                    case 2: if bytes.count > 1 { bytes.remove(at: rng.below(bytes.count)) }
                    case 3: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(bytes.count + 1))
                    default: bytes = Array(bytes[..<rng.below(bytes.count + 1)])
                    }
                    if bytes.isEmpty { break }
                }
            }
            guard let command = try? LockCodec.decodeCommand(bytes) else { continue }
            decoded += 1
            XCTAssertEqual(try? LockCodec.decodeCommand(LockCodec.encode(command)), command)
        }
        XCTAssertGreaterThan(decoded, 1_000)
    }

    func test_decoder_refusesBadVersionKindModeReasonAndInvalidNames() {
        let good = LockCodec.encode(.acquire(name: lock("x"), session: SessionID(home: 1, index: 2, openedAtMillis: 3),
                                             mode: .shared, waitMillis: 5, requestID: req("r")))
        XCTAssertNoThrow(try LockCodec.decodeCommand(good))
        var v = good; v[0] = 2
        var k = good; k[1] = 9
        var m = good; m[8] = 3 // version · kind · name (len, "x") · home u16 · index · opened · mode
        var n = good; n[3] = 0x0A // the name's byte becomes a newline
        for bad in [v, k, m, n, [], [1], good + [0]] {
            XCTAssertThrowsError(try LockCodec.decodeCommand(bad), "\(bad)")
        }
    }

    func test_applyEncoded_ofUndecodableBytes_isInvalid_andOnlyAdvancesTheIndex() {
        var s = TestShard()
        let a = s.open()
        s.acquire("x", a)
        let before = s.table.encodeBody()
        guard case .invalid = s.table.apply(encoded: [9, 9, 9], index: s.index + 1).reply else { return XCTFail() }
        XCTAssertEqual(s.table.appliedIndex, s.index + 1)
        XCTAssertEqual(s.table.encodeBody(), before)
        let r = s.table.apply(encoded: LockCodec.encode(.release(name: lock("x"), session: a, requestID: req("z"))), index: s.index + 2)
        XCTAssertEqual(r.reply, .released)
    }
}
