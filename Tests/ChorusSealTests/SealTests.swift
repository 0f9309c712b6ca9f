import Testing
import ChorusBase
import Dispatch
import Synchronization
@testable import ChorusSeal

/// Sealing: round trip, a wrong key, a tampered byte, another cluster, replays, rotation
/// and the plaintext migration modes.
@Suite struct SealTests {
    static let k1 = SealKey(bytes: Array(repeating: 1, count: 32))!
    static let k2 = SealKey(bytes: Array(0..<32))!
    static let nonce: [UInt8] = Array(repeating: 7, count: 12)
    static let t: UInt64 = 1_800_000_000_000

    func seal(_ keys: [SealKey], _ mode: SealMode = .required, cluster: String = "chorus") throws -> Seal {
        Seal(keyring: try Keyring(keys: keys), mode: mode, cluster: cluster)
    }

    @Test func roundTrip_opensWhatWasSealed_andAddsTheStatedOverhead() throws {
        let s = try seal([Self.k1])
        for message in [[], [0x43, 0x48, 1], Array(repeating: UInt8(9), count: 1400)] as [[UInt8]] {
            let sealed = try #require(s.seal(message, sentAt: Self.t))
            #expect(sealed.count == message.count + Seal.overhead)
            #expect(Seal.isSealed(sealed))
            #expect(s.open(sealed, now: Self.t + 5) == .success(message))
        }
        // Fresh nonces: the same message twice seals differently.
        #expect(s.seal([1, 2, 3], sentAt: Self.t) != s.seal([1, 2, 3], sentAt: Self.t))
        // A given nonce gives the same bytes (deterministic runs).
        #expect(s.seal([1, 2, 3], sentAt: Self.t, nonce: Self.nonce) == s.seal([1, 2, 3], sentAt: Self.t, nonce: Self.nonce))
    }

    @Test func wrongKey_tamperedByte_andOtherCluster_areRefused() throws {
        let sealed = try #require(try seal([Self.k1]).seal(Array("hello".utf8), sentAt: Self.t, nonce: Self.nonce))
        #expect(try seal([Self.k2]).open(sealed, now: Self.t) == .failure(.noKeyOpens))
        #expect(try seal([Self.k1], cluster: "other").open(sealed, now: Self.t) == .failure(.noKeyOpens))
        for i in 3..<sealed.count {
            var bad = sealed
            bad[i] ^= 0x01
            #expect(try seal([Self.k1]).open(bad, now: Self.t) == .failure(.noKeyOpens), "byte \(i)")
        }
        #expect(try seal([Self.k1]).open(Array(sealed.prefix(20)), now: Self.t) == .failure(.malformed))
        var version = sealed
        version[2] = 9
        #expect(try seal([Self.k1]).open(version, now: Self.t) == .failure(.unknownVersion(9)))
        #expect(try seal([]).open(sealed, now: Self.t) == .failure(.noKeys))
    }

    @Test func replay_outsideTheWindow_isRefused_inside_opens() throws {
        let s = try seal([Self.k1])
        let sealed = try #require(s.seal([1], sentAt: Self.t))
        let w = s.replayWindowMillis
        #expect(s.open(sealed, now: Self.t + w) == .success([1]))
        #expect(s.open(sealed, now: Self.t + w + 1) == .failure(.outsideReplayWindow(ageMillis: w + 1)))
        #expect(s.open(sealed, now: Self.t - w - 1) == .failure(.outsideReplayWindow(ageMillis: w + 1)), "from too far ahead")
    }

    @Test func rotation_installUseRemove_keepsEveryPairTalking() throws {
        var a = try seal([Self.k1]), b = try seal([Self.k1])
        try a.keyring.install(Self.k2); try b.keyring.install(Self.k2)
        try a.keyring.use(Self.k2)
        // a seals with k2, b still with k1: both open each other.
        #expect(b.open(try #require(a.seal([5], sentAt: Self.t)), now: Self.t) == .success([5]))
        #expect(a.open(try #require(b.seal([6], sentAt: Self.t)), now: Self.t) == .success([6]))
        try b.keyring.use(Self.k2)
        #expect(throws: KeyringError.primary(Self.k2.id)) { try a.keyring.remove(Self.k2) }
        try a.keyring.remove(Self.k1); try b.keyring.remove(Self.k1)
        #expect(a.keyring.keys == [Self.k2])
        #expect(b.open(try #require(a.seal([7], sentAt: Self.t)), now: Self.t) == .success([7]))
        // A node left on the old key alone is refused.
        let old = try seal([Self.k1])
        #expect(a.open(try #require(old.seal([8], sentAt: Self.t)), now: Self.t) == .failure(.noKeyOpens))
        #expect(throws: KeyringError.notInstalled(Self.k1.id)) { try a.keyring.use(Self.k1) }
        var full = Keyring()
        for i in 0..<Keyring.maxKeys { try full.install(SealKey(bytes: Array(repeating: UInt8(i), count: 32))!) }
        #expect(throws: KeyringError.full(Keyring.maxKeys)) { try full.install(Self.k2) }
    }

    @Test func migration_modes_acceptBothThenRequire() throws {
        let plain: [UInt8] = [0x43, 0x48, 1, 2]
        let open = try seal([Self.k1], .open), accepting = try seal([Self.k1], .acceptPlaintext), required = try seal([Self.k1], .required)
        #expect(open.seal(plain, sentAt: Self.t) == plain, "open mode sends plaintext")
        #expect(open.open(plain, now: Self.t) == .success(plain))
        #expect(accepting.open(plain, now: Self.t) == .success(plain))
        #expect(required.open(plain, now: Self.t) == .failure(.plaintext))
        let sealed = try #require(accepting.seal(plain, sentAt: Self.t))
        #expect(open.open(sealed, now: Self.t) == .success(plain))
        #expect(required.open(sealed, now: Self.t) == .success(plain))
        #expect(Seal(keyring: Keyring(), mode: .required, cluster: "c").mode == .open, "no keys, nothing sealed")
    }

    @Test func keys_parseFromHexOnly() {
        #expect(SealKey(hex: Self.k2.hex) == Self.k2)
        #expect(SealKey(hex: Self.k2.hex.uppercased()) == Self.k2)
        #expect(SealKey(hex: "00") == nil)
        #expect(SealKey(hex: String(repeating: "g", count: 64)) == nil)
        #expect(SealKey(bytes: [1, 2]) == nil)
        #expect(Self.k1.id.count == 8 && Self.k1.id != Self.k2.id)
        #expect(Seal.randomKey() != Seal.randomKey())
    }

    /// Random bytes never crash `open`, and never open.
    @Test func randomBytes_areRefusedWithoutCrashing() throws {
        let s = try seal([Self.k1])
        var rng = SeededRandom(seed: 5)
        for _ in 0..<5_000 {
            let n = Int(rng.next() % 120)
            var bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if n >= 3 && rng.next() % 2 == 0 { bytes[0] = Seal.magic.0; bytes[1] = Seal.magic.1; bytes[2] = 1 }
            if case .success = s.open(bytes, now: Self.t), Seal.isSealed(bytes) { Issue.record("random bytes opened") }
        }
    }
}

extension SealTests {
    /// Keys keep one keyed context each and only set the nonce per message: messages sealed
    /// in any order, under alternating keys, from many threads at once, open to exactly what
    /// was sealed, and a key made again from the same bytes is the same key.
    @Test func reusedContexts_alternatingKeysAndThreads_openToWhatWasSealed() throws {
        let a = try #require(Seal.randomKey()), b = try #require(Seal.randomKey())
        #expect(SealKey(bytes: a.bytes) == a && SealKey(hex: a.hex) == a && a != b)
        let one = Seal(keyring: try Keyring(keys: [a, b]), mode: .required, cluster: "c")
        var rotated = one
        try rotated.keyring.use(b)
        let two = rotated
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<500 {
                let message = (0..<(i % 97)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ worker) }
                let sealer = i.isMultiple(of: 2) ? one : two, opener = i.isMultiple(of: 3) ? two : one
                guard let sealed = sealer.seal(message, sentAt: 1_000),
                      case let .success(opened) = opener.open(sealed, now: 1_000), opened == message else {
                    failures.withLock { $0 += 1 }
                    continue
                }
                var tampered = sealed
                tampered[tampered.count - 1] ^= 1
                if case .success = opener.open(tampered, now: 1_000) { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }
}
