import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusWire
import XCTest

/// `CommandEnvelope`, `ShardCommand` and `ShardState`: round trips, refusals, and decoders
/// that throw on any garbage instead of trapping.
final class ShardCommandTests: XCTestCase {
    private func randomBytes(_ rng: inout SeededRandom, _ max: Int) -> [UInt8] {
        (0..<rng.below(max + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// Truncations, bit flips and random bytes derived from `valid`.
    private func damaged(_ valid: [UInt8], _ rng: inout SeededRandom) -> [[UInt8]] {
        var out: [[UInt8]] = [Array(valid.prefix(rng.below(valid.count + 1)))]
        if !valid.isEmpty {
            var x = valid
            x[rng.below(x.count)] ^= UInt8(1) << UInt8(rng.below(8))
            out.append(x)
            var y = valid
            y[rng.below(y.count)] = UInt8(truncatingIfNeeded: rng.next())
            out.append(y)
        }
        out.append(valid + randomBytes(&rng, 4))
        out.append(randomBytes(&rng, 24))
        out.append(Array(valid.prefix(1)) + randomBytes(&rng, 24))
        return out
    }

    // MARK: CommandEnvelope

    func testEnvelope_roundTrips_withAndWithoutRequestID() throws {
        var rng = SeededRandom(seed: 1)
        for _ in 0..<2_000 {
            let e = CommandEnvelope(requestID: randomBytes(&rng, CommandEnvelope.maxRequestIDBytes), body: randomBytes(&rng, 64))
            XCTAssertEqual(try CommandEnvelope(decoding: e.encoded()), e)
        }
        let empty = CommandEnvelope(requestID: [], body: [])
        XCTAssertEqual(try CommandEnvelope(decoding: empty.encoded()), empty)
    }

    func testEnvelope_refusesLongRequestIDUnknownVersionAndEmptyInput() {
        var w = ByteWriter()
        w.u8(1); w.blob([UInt8](repeating: 7, count: CommandEnvelope.maxRequestIDBytes + 1)); w.raw([1, 2])
        XCTAssertThrowsError(try CommandEnvelope(decoding: w.bytes))
        XCTAssertThrowsError(try CommandEnvelope(decoding: [2, 0]))
        XCTAssertThrowsError(try CommandEnvelope(decoding: []))
        XCTAssertThrowsError(try CommandEnvelope(decoding: [1]), "no request id length")
        XCTAssertThrowsError(try CommandEnvelope(decoding: [1, 5, 1]), "request id shorter than its length")
    }

    func testEnvelopeDecode_isTotal_onGarbage() {
        var rng = SeededRandom(seed: 2)
        for _ in 0..<10_000 {
            let valid = CommandEnvelope(requestID: randomBytes(&rng, 20), body: randomBytes(&rng, 20)).encoded()
            for input in damaged(valid, &rng) {
                guard let e = try? CommandEnvelope(decoding: input) else { continue }
                XCTAssertLessThanOrEqual(e.requestID.count, CommandEnvelope.maxRequestIDBytes)
                XCTAssertEqual(e.encoded(), input, "the envelope has one encoding")
            }
        }
    }

    // MARK: ShardCommand

    func testCommand_roundTrips() throws {
        var rng = SeededRandom(seed: 3)
        for _ in 0..<2_000 {
            let key = randomBytes(&rng, 40)
            let c: ShardCommand = rng.below(2) == 0 ? .put(key: key, value: randomBytes(&rng, 100)) : .delete(key: key)
            XCTAssertEqual(try ShardCommand(decoding: c.encoded()), c)
        }
        let longest = ShardCommand.put(key: [UInt8](repeating: 1, count: ShardCommand.maxKeyBytes), value: [2])
        XCTAssertEqual(try ShardCommand(decoding: longest.encoded()), longest)
    }

    func testCommand_refusesUnknownTagTrailingBytesAndOversizedKey() {
        XCTAssertThrowsError(try ShardCommand(decoding: [3, 0]))
        XCTAssertThrowsError(try ShardCommand(decoding: []))
        XCTAssertThrowsError(try ShardCommand(decoding: ShardCommand.delete(key: [1]).encoded() + [0]))
        let tooLong = ShardCommand.delete(key: [UInt8](repeating: 1, count: ShardCommand.maxKeyBytes + 1)).encoded()
        XCTAssertThrowsError(try ShardCommand(decoding: tooLong))
    }

    func testCommandDecode_isTotal_onGarbage() {
        var rng = SeededRandom(seed: 4)
        for _ in 0..<10_000 {
            let valid = ShardCommand.put(key: randomBytes(&rng, 8), value: randomBytes(&rng, 8)).encoded()
            for input in damaged(valid, &rng) {
                guard let c = try? ShardCommand(decoding: input) else { continue }
                XCTAssertEqual(c.encoded(), input, "a command has one encoding")
            }
        }
    }

    // MARK: ShardState

    func testState_appliesPutAndDelete_andKeepsRevisionAtLastChange() {
        var s = ShardState(shard: ShardID(0))
        XCTAssertEqual(s.apply(put("a", "1"), at: LogIndex(3)), [ShardState.Reply.done.rawValue])
        XCTAssertEqual(s.values[bytes("a")], bytes("1"))
        XCTAssertEqual(s.revision, 3)
        XCTAssertEqual(s.apply(ShardCommand.delete(key: bytes("zz")).encoded(), at: LogIndex(4)), [ShardState.Reply.absent.rawValue])
        XCTAssertEqual(s.revision, 3, "deleting an absent key changes nothing")
        XCTAssertEqual(s.apply(ShardCommand.delete(key: bytes("a")).encoded(), at: LogIndex(5)), [ShardState.Reply.done.rawValue])
        XCTAssertEqual(s.revision, 5)
        XCTAssertTrue(s.values.isEmpty)
    }

    func testState_unreadableCommand_isAnsweredWithErrorReply_andChangesNothing() {
        var s = ShardState(shard: ShardID(0))
        _ = s.apply(put("k", "v"), at: LogIndex(1))
        let before = s
        XCTAssertEqual(s.apply([9, 9, 9], at: LogIndex(2)), [ShardState.Reply.unreadable.rawValue])
        XCTAssertEqual(s.apply([], at: LogIndex(3)), [ShardState.Reply.unreadable.rawValue])
        XCTAssertEqual(s, before)
    }

    func testStateImage_roundTrips_andDoesNotDependOnInsertionOrder() throws {
        var rng = SeededRandom(seed: 5)
        var commands: [[UInt8]] = []
        for i in 0..<300 {
            let key = bytes("key\(rng.below(60))")
            commands.append(rng.below(4) == 0 ? ShardCommand.delete(key: key).encoded() : ShardCommand.put(key: key, value: bytes("v\(i)")).encoded())
        }
        var a = ShardState(shard: ShardID(0))
        for (i, c) in commands.enumerated() { _ = a.apply(c, at: LogIndex(UInt64(i + 1))) }
        let restored = try ShardState(shard: ShardID(0), image: a.image())
        XCTAssertEqual(restored, a)
        XCTAssertEqual(restored.image(), a.image())
        // The same map reached through puts in two other orders (the last at the same
        // revision) writes the same bytes: the image follows sorted keys, never a dictionary's
        // order.
        let keys = a.values.keys.sorted { $0.lexicographicallyPrecedes($1) }
        for order in [keys, keys.reversed()] {
            var b = ShardState(shard: ShardID(0))
            for k in order { _ = b.apply(ShardCommand.put(key: k, value: a.values[k] ?? []).encoded(), at: LogIndex(a.revision)) }
            XCTAssertEqual(b, a)
            XCTAssertEqual(b.image(), a.image())
        }
        XCTAssertEqual(try ShardState(shard: ShardID(0), image: ShardState(shard: ShardID(0)).image()), ShardState(shard: ShardID(0)))
    }

    func testStateImageDecode_isTotal_onGarbage() {
        var rng = SeededRandom(seed: 6)
        var s = ShardState(shard: ShardID(0))
        for i in 0..<6 { _ = s.apply(put("k\(i)", "v\(i)"), at: LogIndex(UInt64(i + 1))) }
        let valid = s.image()
        for _ in 0..<20_000 {
            for input in damaged(valid, &rng) {
                guard let restored = try? ShardState(shard: ShardID(0), image: input) else { continue }
                // Whatever was accepted is a state with a stable image.
                XCTAssertEqual(try ShardState(shard: ShardID(0), image: restored.image()), restored)
            }
        }
    }
}
