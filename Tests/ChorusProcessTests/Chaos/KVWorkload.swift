import ChorusRuntime
import struct ChorusSim.KVOperation
import Foundation
import Synchronization

/// KV clients for the chaos test, one per node, each on a thread inside its node's namespace
/// talking to the local agent: PUTs of unique values and GETs on a few keys, recorded as
/// `KVOperation`s for the linearizability checker.
///
/// Invariant of the record: a PUT is `returned` only on 200; one refused at connect (the
/// agent is down, nothing was sent) is `discarded`; every other outcome (timeout, reset,
/// 5xx) stays open — it may have taken effect. A GET is kept only on 200 or 404.
final class KVWorkload: ChaosWorkload, @unchecked Sendable {
    let keys: [String]
    private let history = Mutex<[KVOperation]>([])
    private let clients = ChaosClients()

    init(keys: [String]) { self.keys = keys }

    func start(_ cluster: ChaosCluster) { clients.start(cluster) { node, api in self.client(node, api: api) } }

    func stop() { clients.stop() }

    var operations: [KVOperation] { history.withLock { $0 } }

    private func client(_ c: Int, api: String) {
        var rng = SystemRandomNumberGenerator()
        var n = 0
        while !clients.stopping {
            n += 1
            let key = keys.randomElement(using: &rng) ?? "k"
            let isPut = Bool.random(using: &rng)
            let value = "c\(c)-\(n)"
            var op = KVOperation(client: c, key: key, kind: isPut ? .put(value) : .get, call: ChaosClients.now())
            let result: Result<HTTPClientResponse, HTTPClientError>
            do {
                let r = try HTTPClient().request(method: isPut ? .put : .get, api,
                                                 path: "/v1/kv/\(key)" + (isPut ? "?request_id=\(value)" : ""),
                                                 body: isPut ? Array(value.utf8) : nil, timeout: .milliseconds(8_000))
                result = .success(r)
            } catch { result = .failure(error) }
            let end = ChaosClients.now()
            switch result {
            case let .success(r) where isPut:
                if r.status == 200 { op.returned = end }
            case let .success(r):
                if r.status == 200 {
                    op.returned = end
                    op.output = (try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])?["value"] as? String
                    if op.output == nil { op.returned = .max } // an answer without a value is not a read we can check
                } else if r.status == 404 {
                    op.returned = end
                }
            case let .failure(error):
                if case let .unreachable(_, reason) = error, reason.contains("refused") { op.discarded = true }
            }
            history.withLock { $0.append(op) }
            if op.returned == .max { usleep(200_000) } else { usleep(10_000) }
        }
    }

    /// Counts for the report: (completed, open, discarded).
    var counts: (completed: Int, open: Int, discarded: Int) {
        let ops = operations
        return (ops.filter { !$0.discarded && $0.returned != .max }.count,
                ops.filter { !$0.discarded && $0.returned == .max }.count,
                ops.filter(\.discarded).count)
    }

    /// The history with one write removed that a completed read returned: its value now comes
    /// from nowhere, so a working checker must reject it. Nil when no read saw any write.
    static func plantedLostWrite(_ history: [KVOperation]) -> [KVOperation]? {
        let read = Set(history.filter { $0.kind == .get && $0.returned != .max && !$0.discarded }.compactMap(\.output))
        guard let index = history.firstIndex(where: { op in
            if case let .put(v) = op.kind { return op.returned != .max && !op.discarded && read.contains(v) }
            return false
        }) else { return nil }
        var planted = history
        planted[index].discarded = true
        return planted
    }
}
