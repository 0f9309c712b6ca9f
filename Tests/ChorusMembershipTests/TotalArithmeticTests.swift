import Testing
import ChorusBase
@testable import ChorusMembership

/// Incarnations never wrap, and every setting is range-checked so that no arithmetic on it
/// can overflow or reach a precondition.
@Suite struct TotalArithmeticTests {
    @Test func forgedDeathAtTheLargestIncarnation_isRefused() throws {
        var m = try Fixture.node(knowing: ["b", "x"])
        var out: [MembershipEffect] = []
        m.receive(Fixture.gossip([Fixture.update("x", .dead, .max), Fixture.update("x", .suspect, .max), Fixture.update("x", .left, .max)]),
                  from: Fixture.address(100), at: .zero, into: &out)
        #expect(m.status(of: "x") == .alive)
        #expect(m.counters.updatesRefused == 3)
    }

    @Test func accusationAboutItselfNearTheLargestIncarnation_isRefutedWithoutWrapping() throws {
        var m = try Fixture.node(knowing: ["b"])
        var out: [MembershipEffect] = []
        m.receive(Fixture.gossip([Fixture.update("a", .dead, .max)]), from: Fixture.address(100), at: .zero, into: &out)
        #expect(m.incarnation == 0 && m.counters.refutations == 0, "an accusation no one accepts needs no refutation")
        m.receive(Fixture.gossip([Fixture.update("a", .suspect, .max - 1)]), from: Fixture.address(100), at: .zero, into: &out)
        #expect(m.incarnation == .max)
    }

    @Test func tagChangeAndLeaveAtTheLargestIncarnation_saturate() throws {
        var m = try Fixture.node(knowing: ["b"], incarnation: .max)
        var out: [MembershipEffect] = []
        m.setTags(try Tags(["k": "v"]), at: .zero, into: &out)
        #expect(m.incarnation == .max)
        m.leave(at: .zero, into: &out)
        #expect(m.incarnation == .max)
    }

    /// Values known to have broken the arithmetic before (tiny intervals, huge multipliers), each refused with the setting's name in the message.
    @Test func settingOutOfRange_isRefusedByName() {
        let cases: [(String, (inout MembershipSettings) -> Void)] = [
            ("reconnect_interval", { $0.reconnectInterval = Interval(seconds: 1e-10) }),
            ("suspicion_max_multiplier", { $0.suspicionMaxMultiplier = 1e10 }),
            ("suspicion_multiplier", { $0.suspicionMultiplier = .infinity }),
            ("suspicion_confirmations", { $0.suspicionConfirmations = .max - 1 }),
            ("probe_interval", { $0.probeInterval = .seconds(1_000_000_000) }),
            ("gossip_to_the_dead", { $0.gossipToTheDead = Interval(nanoseconds: -1) }),
            ("join_catch_up", { $0.joinCatchUp = .zero }),
            ("join_backoff_cap", { $0.joinBackoffCap = Interval(nanoseconds: .max) }),
            ("leave_timeout", { $0.leaveTimeout = .zero }),
            ("max_relays", { $0.maxRelays = -5 }),
            ("tombstone_timeout", { $0.tombstoneTimeout = .seconds(1_000_000_000) }),
        ]
        for (name, change) in cases {
            var s = MembershipSettings()
            change(&s)
            #expect(throws: SettingsError.self, "\(name)") { try s.validate() }
            do { try s.validate() } catch { #expect(error.message.contains(name), "\(error.message)") }
        }
    }

    /// Random values for every setting: each either is refused or gives nodes that run.
    @Test func randomSettings_giveARefusalOrWorkingNodes() {
        var rng = SeededRandom(seed: 14)
        var accepted = 0
        for _ in 0..<150 {
            let s = RandomSettings.draw(&rng)
            guard (try? s.validate()) != nil else { continue }
            accepted += 1
            var net = TestNetwork(settings: s)
            net.add(0)
            net.add(1, seeds: [0])
            net.add(2, seeds: [0])
            net.run(for: .seconds(3))
            #expect(net.nodes.values.allSatisfy { $0.nextDeadline > .zero })
        }
        #expect(accepted > 10, "the draw should also produce valid settings")
    }
}

/// Draws settings where each field is, with some chance, something extreme.
enum RandomSettings {
    static func interval(_ rng: inout SeededRandom, _ normal: Interval) -> Interval {
        switch rng.below(48) {
        case 0: return Interval(nanoseconds: Int64(bitPattern: rng.next()))
        case 1: return Interval(nanoseconds: Int64(rng.below(1_000)))
        case 2: return Interval(nanoseconds: Int64(rng.unit() * 9e18))
        case 3: return .zero
        default: return Interval(nanoseconds: max(1, Int64(Double(normal.nanoseconds) * (0.5 + rng.unit() * 1.5))))
        }
    }
    static func count(_ rng: inout SeededRandom, _ normal: Int) -> Int {
        switch rng.below(48) {
        case 0: return Int(bitPattern: UInt(rng.next()))
        case 1: return .max - rng.below(3)
        case 2: return -rng.below(10)
        default: return max(0, normal + rng.below(5) - 2)
        }
    }
    static func real(_ rng: inout SeededRandom, _ normal: Double) -> Double {
        switch rng.below(48) {
        case 0: return [Double.nan, .infinity, -.infinity, 1e300, -1, 0][rng.below(6)]
        case 1: return rng.unit() * 1e12
        default: return normal * (0.3 + rng.unit() * 3)
        }
    }
    static func draw(_ rng: inout SeededRandom) -> MembershipSettings {
        var s = MembershipSettings()
        s.probeInterval = interval(&rng, s.probeInterval)
        s.probeTimeout = interval(&rng, s.probeTimeout)
        s.minProbeTimeout = interval(&rng, s.minProbeTimeout)
        s.phiThreshold = real(&rng, s.phiThreshold)
        s.phiMinStdDev = real(&rng, s.phiMinStdDev)
        s.indirectChecks = count(&rng, s.indirectChecks)
        s.maxLocalHealth = count(&rng, s.maxLocalHealth)
        s.suspicionMultiplier = real(&rng, s.suspicionMultiplier)
        s.suspicionMaxMultiplier = real(&rng, s.suspicionMaxMultiplier)
        s.suspicionConfirmations = count(&rng, s.suspicionConfirmations)
        s.gossipInterval = interval(&rng, s.gossipInterval)
        s.gossipFanout = count(&rng, s.gossipFanout)
        s.retransmitMultiplier = count(&rng, s.retransmitMultiplier)
        s.joinRetransmitMultiplier = count(&rng, s.joinRetransmitMultiplier)
        s.gossipToTheDead = interval(&rng, s.gossipToTheDead)
        s.datagramBudget = count(&rng, s.datagramBudget)
        s.pushPullInterval = interval(&rng, s.pushPullInterval)
        s.joinCatchUp = interval(&rng, s.joinCatchUp)
        s.reconnectInterval = interval(&rng, s.reconnectInterval)
        s.tombstoneTimeout = interval(&rng, s.tombstoneTimeout)
        s.joinTimeout = interval(&rng, s.joinTimeout)
        s.joinBackoffCap = interval(&rng, s.joinBackoffCap)
        s.leaveTimeout = interval(&rng, s.leaveTimeout)
        s.maxRelays = count(&rng, s.maxRelays)
        s.maxMembers = count(&rng, s.maxMembers)
        return s
    }
}
