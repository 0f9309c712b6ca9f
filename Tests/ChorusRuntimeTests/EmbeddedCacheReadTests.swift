import ChorusBase
import ChorusCache
import ChorusNode
import Foundation
import Synchronization
import Testing
@testable import ChorusRuntime

/// The embedding's read path: a program holding an `Agent` reads the node's cache copies
/// with a function call from its own threads. A read through the node leaves a copy the
/// embedding then reads; a write that was acknowledged is never followed by an embedded read
/// of an older value; a delete leaves nothing or "absent".
@Suite struct EmbeddedCacheReadTests {
    static func put(_ a: TestAgent, _ key: String, _ value: String) -> Bool {
        eventually(timeout: 30) { (try? a.request(.put, "/v1/cache/\(key)", body: value))?.status == 200 }
    }

    @Test func aReadLeavesACopyForTheEmbedding_andWritesReplaceOrDropIt() throws {
        let a = try TestAgent(name: "embed1")
        defer { a.stop() }
        let key = Array("greeting".utf8)
        #expect(Self.put(a, "greeting", "hello"), "the single node never took the write")
        #expect(eventually(timeout: 10) { (try? a.request("/v1/cache/greeting"))?.bodyText?.contains("hello") == true })
        #expect(a.agent.localCacheValue(of: key) == .some(Array("hello".utf8)), "no local copy after a read through the node")
        #expect(a.agent.localCacheValue(of: Array("never-written".utf8)) == nil)

        #expect(Self.put(a, "greeting", "bonjour"))
        let afterWrite = a.agent.localCacheValue(of: key)
        #expect(afterWrite == nil || afterWrite == .some(Array("bonjour".utf8)), "read \(String(describing: afterWrite)) after the overwrite")
        #expect((try? a.request(.delete, "/v1/cache/greeting"))?.status == 200)
        let afterDelete = a.agent.localCacheValue(of: key)
        #expect(afterDelete == nil || afterDelete == .some(nil), "read \(String(describing: afterDelete)) after the delete")
        #expect(a.agent.localCacheReads.hits >= 1)
    }

    /// Two threads read agent a's copy as fast as they can while the test writes 1…40 in
    /// order through agent b and reads each back through a (so a holds a copy again, which
    /// b's next write must take away): once write n was acknowledged, no embedded read that
    /// began afterwards returns a smaller number.
    @Test func concurrentEmbeddedReads_neverSeeAValueOlderThanAnAcknowledgedWrite() throws {
        let a = try TestAgent(name: "embed2")
        defer { a.stop() }
        let b = try TestAgent(name: "embed3", seeds: [a.gossip.description])
        defer { b.stop() }
        #expect(eventually(timeout: 20) { a.status(of: "embed3") == "alive" && b.status(of: "embed2") == "alive" })
        let key = Array("counter".utf8)
        #expect(Self.put(b, "counter", "0"))
        let shared = ReaderState()
        let violations = Recorder<String>()
        let agent = a.agent
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<2 {
            Thread {
                defer { finished.signal() }
                while !shared.stop.load(ordering: .acquiring) {
                    let floor = shared.acked.load(ordering: .acquiring)
                    guard let value = agent.localCacheValue(of: key) else { continue }
                    shared.hits.wrappingAdd(1, ordering: .relaxed)
                    guard violations.count < 10 else { continue }
                    guard let bytes = value, let n = Int(String(decoding: bytes, as: UTF8.self)) else {
                        violations.append("read \(String(describing: value)), never written"); continue
                    }
                    if n < floor { violations.append("read \(n) after write \(floor) was acknowledged") }
                }
            }.start()
        }
        for n in 1...40 {
            guard Self.put(b, "counter", "\(n)") else { Issue.record("write \(n) failed"); break }
            shared.acked.store(n, ordering: .releasing)
            _ = try? a.request("/v1/cache/counter")
        }
        shared.stop.store(true, ordering: .releasing)
        finished.wait()
        finished.wait()
        #expect(violations.all.isEmpty, "\(violations.all.prefix(5))")
        #expect(shared.hits.load(ordering: .relaxed) > 0, "the readers never found a copy")
    }

    /// Reads the mirror answers are handed to the node at its next tick: they count as hits
    /// in its statistics and refresh its LRU order, so a key read only that way is not the
    /// first evicted.
    @Test func mirrorHits_areHandedToTheNode_countedAndBounded() {
        let reads = LocalCacheReads()
        let until = MonotonicClock.now() + .seconds(60)
        let a = CacheKey("a"), b = CacheKey("b")
        reads.apply([LocalCopyChange(key: a, copy: LocalCopy(value: [1], readableUntil: until)),
                     LocalCopyChange(key: b, copy: LocalCopy(value: nil, readableUntil: until))])
        for _ in 0..<3 { #expect(reads.value(of: a.bytes) == .some([1])) }
        #expect(reads.value(of: b.bytes) == .some(nil))
        #expect(reads.value(of: Array("c".utf8)) == nil)
        let first = reads.takeServed()
        #expect(first.count == 4 && first.keys == [a, a, a, b])
        let second = reads.takeServed()
        #expect(second.count == 0 && second.keys.isEmpty)
        for _ in 0..<(LocalCacheReads.maxServedKeys + 10) { _ = reads.value(of: a.bytes) }
        let third = reads.takeServed()
        #expect(third.count == UInt64(LocalCacheReads.maxServedKeys + 10) && third.keys.count == LocalCacheReads.maxServedKeys)
    }

    @Test func aReadAnsweredFromTheMirror_isAHitInTheNodesStatistics() throws {
        let a = try TestAgent(name: "embed4")
        defer { a.stop() }
        #expect(Self.put(a, "k", "v"))
        #expect(eventually(timeout: 10) { (try? a.request("/v1/cache/k"))?.bodyText?.contains("\"v\"") == true })
        #expect(a.agent.localCacheValue(of: Array("k".utf8)) == .some(Array("v".utf8)))
        let before = a.agent.localCacheReads.hits
        let response = try a.request("/v1/cache/k")
        #expect(response.headers["X-Chorus-Cache"] == "hit")
        #expect(a.agent.localCacheReads.hits == before + 1, "the second read did not come from the mirror")
        // The node counts it at its next tick (at most its quiet tick later).
        #expect(eventually(timeout: 5) {
            guard let stats = try? a.request("/v1/cache"), let text = stats.bodyText,
                  let data = text.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let hits = object["hits"] as? Int else { return false }
            return hits >= Int(before) + 1
        })
    }

    final class ReaderState: Sendable {
        let acked = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let hits = Atomic<Int>(0)
    }
}
