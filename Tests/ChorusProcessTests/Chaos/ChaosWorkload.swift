/// A client workload the chaos test runs through every fault: started once the cluster is
/// formed, stopped (waiting for its last operations) before the checks. The KV and
/// fenced-counter workloads are the first two; the queue and cache workloads join here.
protocol ChaosWorkload: AnyObject, Sendable {
    /// Starts the workload's clients, each on a thread inside a node's namespace.
    func start(_ cluster: ChaosCluster)
    /// Stops the clients and waits for their last operations to finish.
    func stop()
}
