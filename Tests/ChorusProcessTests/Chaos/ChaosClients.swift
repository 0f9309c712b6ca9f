import Foundation
import Synchronization

/// The client threads of one chaos workload: one per node, each inside that node's network
/// namespace, talking to its own agent, all told to stop together.
/// Invariant: `stop()` returns only once every client thread has returned.
final class ChaosClients: Sendable {
    private let stopFlag = Atomic<Bool>(false)
    private let running = DispatchGroup()

    /// Times are the monotonic clock's nanoseconds, shared by the workloads and the fault steps.
    static func now() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds) }

    /// True once `stop()` was called: clients finish the operation in hand and return.
    var stopping: Bool { stopFlag.load(ordering: .relaxed) }

    /// Starts `client(node, api)` for every node of `cluster`.
    func start(_ cluster: ChaosCluster, _ client: @escaping @Sendable (_ node: Int, _ api: String) -> Void) {
        for node in cluster.nodes {
            running.enter()
            let api = cluster.api(node)
            NamespaceThread.start(in: cluster.lab.namespace(node), { client(node, api) },
                                  done: { _ in self.running.leave() })
        }
    }

    /// Stops the clients and waits for their last operations to finish.
    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        running.wait()
    }
}
