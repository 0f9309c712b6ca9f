import ChorusBase
@testable import ChorusCache

/// Random well-formed coherence messages, for the codec's round-trip and fuzz tests.
struct MessageGenerator {
    var rng: SeededRandom

    mutating func number() -> UInt64 { rng.below(3) == 0 ? rng.next() : UInt64(rng.below(1_000)) }
    mutating func bytes(_ max: Int) -> [UInt8] { (0..<rng.below(max + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    mutating func key() -> CacheKey { CacheKey(bytes(rng.below(4) == 0 ? 200 : 12)) }
    mutating func value() -> [UInt8]? { rng.below(4) == 0 ? nil : bytes(rng.below(8) == 0 ? 300 : 24) }
    mutating func tag() -> RequestTag { RequestTag(incarnation: number(), sequence: number()) }
    mutating func txn() -> TxnID { TxnID(epoch: number(), counter: number()) }
    mutating func node() -> CacheNodeID { CacheNodeID(number()) }

    mutating func message() -> CacheMessage {
        let k = key()
        switch rng.below(14) {
        case 0: return .getS(key: k, tag: tag(), floor: number())
        case 1: return .getM(key: k, tag: tag(), floor: number(), value: value())
        case 2: return .upgrade(key: k, tag: tag(), floor: number(), value: value())
        case 3: return .putS(key: k, grant: txn())
        case 4: return .putE(key: k, grant: txn())
        case 5: return .putM(key: k, grant: txn(), version: number())
        case 6: return .fwdGetS(key: k, txn: txn(), requester: node(), tag: tag())
        case 7: return .fwdGetM(key: k, txn: txn(), requester: node(), tag: tag())
        case 8: return .inv(key: k, txn: txn(), requester: node(), tag: tag())
        case 9: return .invAck(key: k, tag: tag(), acker: node())
        case 10:
            let carries = rng.below(2) == 0
            let grants: [Grant] = [.shared, .exclusive, .modified, .uncached]
            return .data(key: k, tag: tag(), txn: txn(), grant: grants[rng.below(4)],
                         ackCount: UInt32(truncatingIfNeeded: number()), version: number(),
                         carriesValue: carries, value: carries ? value() : nil)
        case 11: return .putAck(key: k, grant: txn())
        case 12: return .unblock(key: k, txn: txn())
        default: return .nack(key: k, tag: tag())
        }
    }
}
