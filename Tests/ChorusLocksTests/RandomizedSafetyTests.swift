import ChorusBase
import XCTest
@testable import ChorusLocks

/// Thousands of random commands — opens, closes, expiries, drops, acquires (retries
/// included), releases, cancels — over few names and sessions, with the table's invariants
/// checked after every apply, then an exact replay on a fresh table and on one restored
/// from a mid-run snapshot.
final class RandomizedSafetyTests: XCTestCase {
    static let seed: UInt64 = 20_251_122

    /// The command mix: a few live sessions at home (replaced as they end), a few of other
    /// shards (replaced when dropped), ended ones now and then, and one request in four a
    /// retry of a recent request id.
    struct Workload {
        var rng: SeededRandom
        var live: [SessionID] = []
        var ended: [SessionID] = []
        var foreign = (1...3).map { SessionID(home: 2, index: UInt64($0), openedAtMillis: UInt64(100 + $0 * 37 % 11)) }
        var recentIDs: [RequestID] = []
        var step = 0
        let names = ["a", "b", "c", "d", "e"].map(lock)

        mutating func requestID() -> RequestID {
            step += 1
            if !recentIDs.isEmpty && rng.below(4) == 0 { return recentIDs[rng.below(recentIDs.count)] }
            let id = req("q\(step)")
            recentIDs.append(id)
            if recentIDs.count > 24 { recentIDs.removeFirst() }
            return id
        }

        mutating func pick(_ list: [SessionID]) -> SessionID? { list.isEmpty ? nil : list[rng.below(list.count)] }

        mutating func session() -> SessionID {
            if rng.below(20) == 0, let s = pick(ended) { return s }
            return pick(live + foreign) ?? SessionID(home: 1, index: 999_999, openedAtMillis: 0)
        }

        mutating func homeSession() -> SessionID {
            (rng.below(5) == 0 ? pick(ended) : nil) ?? pick(live) ?? session()
        }

        mutating func command(_ table: LockTable) -> LockCommand {
            let roll = live.count < 3 ? 0 : rng.below(100)
            switch roll {
            case 0..<5:
                return .openSession(ttlMillis: UInt64(500 + rng.below(5_000)), openedAtMillis: UInt64(rng.below(10_000)), requestID: requestID())
            case 5..<8:
                return .closeSession(homeSession(), requestID: requestID())
            case 8..<11:
                return .expireSession(homeSession())
            case 11..<14:
                if rng.below(5) == 0 { return .dropSession(homeSession()) }
                let i = rng.below(foreign.count)
                let dropped = foreign[i]
                foreign[i] = SessionID(home: 3, index: UInt64(step), openedAtMillis: UInt64(rng.below(10_000)))
                ended.append(dropped)
                return .dropSession(dropped)
            case 14..<58:
                return .acquire(name: names[rng.below(names.count)], session: session(), mode: rng.below(2) == 0 ? .exclusive : .shared,
                                waitMillis: rng.below(3) == 0 ? 0 : 1_000, requestID: requestID())
            case 58..<86:
                return .release(name: names[rng.below(names.count)], session: session(), requestID: requestID())
            default:
                let waiters = table.allWaiters()
                let reason: CancelReason = rng.below(2) == 0 ? .timeout : .deadlock
                if !waiters.isEmpty && rng.below(5) != 0 {
                    let w = waiters[rng.below(waiters.count)]
                    return .cancelWait(name: w.name, session: w.session, requestID: w.requestID, reason: reason)
                }
                return .cancelWait(name: names[rng.below(names.count)], session: session(), requestID: requestID(), reason: reason)
            }
        }

        mutating func observe(_ command: LockCommand, _ result: LockApplyResult) {
            if case let .sessionOpened(id) = result.reply, !live.contains(id), !ended.contains(id) { live.append(id) }
            switch command {
            case let .closeSession(id, _), let .expireSession(id):
                if result.reply == .sessionEnded { live.removeAll { $0 == id }; ended.append(id) }
            default: break
            }
            if ended.count > 20 { ended.removeFirst() }
        }
    }

    /// Every invariant the table promises, checked between two consecutive states; returns
    /// the violations (plain checks: an XCTest assertion per check would dominate the run).
    func violations(_ table: LockTable, after before: LockTable, _ command: LockCommand, _ result: LockApplyResult,
                    index: UInt64, lastToken: inout [LockName: FencingToken]) -> [String] {
        var out: [String] = []
        let names = table.names()
        if names != names.sorted() { out.append("names not sorted") }
        for name in names {
            let holders = table.holders(of: name), waiters = table.waiters(of: name)
            if holders.isEmpty && waiters.isEmpty { out.append("\(name) kept while empty") }
            if holders.filter({ $0.mode == .exclusive }).count > 1 { out.append("two exclusive holders of \(name)") }
            if holders.contains(where: { $0.mode == .exclusive }) && holders.count > 1 { out.append("exclusive with shared on \(name)") }
            if Set(holders.map(\.session)).count != holders.count { out.append("a session holds \(name) twice") }
            if Set(waiters.map(\.session)).count != waiters.count { out.append("a session waits for \(name) twice") }
            let old = Set(before.holders(of: name))
            for h in holders where !old.contains(h) {
                if h.token != FencingToken(index) { out.append("new grant of \(name) with token \(h.token) at index \(index)") }
                if let last = lastToken[name], h.token <= last { out.append("token of \(name) went from \(last) to \(h.token)") }
            }
            for h in holders { lastToken[name] = max(lastToken[name] ?? h.token, h.token) }
            for w in waiters {
                if let held = holders.first(where: { $0.session == w.session }) {
                    if !(w.isUpgrade && held.mode == .shared && w.mode == .exclusive) { out.append("\(w.session) waits for itself on \(name)") }
                } else if w.isUpgrade {
                    out.append("upgrade by a non-holder on \(name)")
                }
            }
            if let head = waiters.first, holders.allSatisfy({ $0.session == head.session || $0.mode.isCompatible(with: head.mode) }) {
                out.append("the head of \(name)'s queue was grantable")
            }
        }
        let edges = table.waitEdges()
        if edges.contains(where: { $0.waiter == $0.blocker }) { out.append("self edge") }
        if RandomizedSafetyTests.closure(edges.map { ($0.waiter, $0.blocker) }) != RandomizedSafetyTests.closure(table.exactWaitPairs()) {
            out.append("reported edges do not reach exactly the true blockers")
        }
        for note in result.notifications {
            if case let .granted(session, name, _, _, token) = note {
                if token != FencingToken(index) || !table.holders(of: name).contains(where: { $0.session == session }) {
                    out.append("notified grant \(note) not in the table")
                }
            }
        }
        switch command {
        case let .closeSession(s, _), let .expireSession(s), let .dropSession(s):
            if result.reply == .sessionEnded, table.knownSessions().contains(where: { $0.id == s })
                || names.contains(where: { n in table.holders(of: n).contains { $0.session == s } || table.waiters(of: n).contains { $0.session == s } }) {
                out.append("ended session \(s) still present")
            }
        default: break
        }
        return out
    }

    /// Who reaches whom, as sorted pairs.
    static func closure(_ pairs: [(SessionID, SessionID)]) -> [[SessionID]] {
        var next: [SessionID: [SessionID]] = [:]
        for (a, b) in pairs { next[a, default: []].append(b) }
        var out: [[SessionID]] = []
        for start in next.keys.sorted() {
            var seen: Set<SessionID> = [], stack = next[start] ?? []
            while let s = stack.popLast() {
                guard seen.insert(s).inserted else { continue }
                stack += next[s] ?? []
            }
            out += seen.sorted().map { [start, $0] }
        }
        return out
    }

    func test_randomCommands_keepEveryInvariant_andReplayIdentically_fromScratchAndFromAMidRunSnapshot() throws {
        var settings = LockTableSettings()
        settings.requestsPerSession = 6
        settings.maxTombstones = 12
        settings.recentOpens = 12
        settings.minTTLMillis = 500
        var table = try LockTable(shard: 1, settings: settings)
        var work = Workload(rng: SeededRandom(seed: RandomizedSafetyTests.seed))
        var log: [(command: LockCommand, index: UInt64)] = []
        var results: [LockApplyResult] = []
        var lastToken: [LockName: FencingToken] = [:]
        var index: UInt64 = 0
        let steps = 6_000, snapshotStep = 2_999
        var snapshot: [UInt8] = []
        var counts: [String: Int] = [:]
        var maxEdges = 0

        for step in 0..<steps {
            index += UInt64(1 + work.rng.below(2)) // gaps stand for entries of other services
            let command = work.command(table)
            let before = table
            let result = table.apply(command, index: index)
            work.observe(command, result)
            log.append((command, index)); results.append(result)
            counts[String(describing: result.reply).prefix { $0 != "(" }.description, default: 0] += 1
            let broken = violations(table, after: before, command, result, index: index, lastToken: &lastToken)
            if !broken.isEmpty { return XCTFail("step \(step), \(command) → \(result): \(broken)") }
            if step == snapshotStep { snapshot = table.encode() }
            if step % 500 == 0 { XCTAssertEqual(try LockTable(decoding: table.encode()), table) }
            maxEdges = max(maxEdges, table.waitEdges().count)
        }
        for kind in ["granted", "waiting", "busy", "released", "notHeld", "waitCancelled", "notWaiting", "sessionEnded", "sessionExpired", "sessionOpened", "invalid"] {
            XCTAssertGreaterThan(counts[kind] ?? 0, 0, "the workload never produced \(kind): \(counts)")
        }

        var fresh = try LockTable(shard: 1, settings: settings)
        for (i, entry) in log.enumerated() {
            if fresh.apply(entry.command, index: entry.index) != results[i] { return XCTFail("replay diverged at step \(i)") }
        }
        XCTAssertEqual(fresh, table)
        XCTAssertEqual(fresh.encode(), table.encode())

        var restored = try LockTable(decoding: snapshot)
        for i in (snapshotStep + 1)..<steps {
            if restored.apply(log[i].command, index: log[i].index) != results[i] { return XCTFail("restored replay diverged at step \(i)") }
        }
        XCTAssertEqual(restored, table)
        XCTAssertEqual(restored.encode(), table.encode())

        // Printed so that runs with and without SWIFT_DETERMINISTIC_HASHING=1 can be compared:
        // equal digests mean no output followed a hash order.
        var digest: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in table.encode() + results.flatMap({ Array(String(describing: $0).utf8) }) {
            digest = (digest ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        print("locks randomized run: seed \(RandomizedSafetyTests.seed), digest \(String(digest, radix: 16)), most edges \(maxEdges), replies \(counts.sorted { $0.key < $1.key })")
    }
}

extension LockTable {
    /// Every (waiter, blocker) pair by the definition — incompatible holders and incompatible
    /// earlier waiters — for checking the reduced `waitEdges()` against.
    func exactWaitPairs() -> [(SessionID, SessionID)] {
        var out: [(SessionID, SessionID)] = []
        for name in locks.keys.sorted() {
            guard let lock = locks[name] else { continue }
            for (i, w) in lock.waiters.enumerated() { out += lock.blockers(ofWaiterAt: i).map { (w.session, $0) } }
        }
        return out
    }
}
