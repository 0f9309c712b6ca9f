/// One edge of the wait-for graph: `waiter`'s pending request `requestID` for `name` cannot be
/// granted before `blocker` lets go (an incompatible holder, or an incompatible request
/// queued ahead of it).
///
/// Order: by name (bytes), then waiter, then blocker, then request id. Invariant:
/// `waiter != blocker` for every edge a `LockTable` reports.
public struct WaitEdge: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var waiter: SessionID
    public var blocker: SessionID
    public var name: LockName
    public var requestID: RequestID

    public init(waiter: SessionID, blocker: SessionID, name: LockName, requestID: RequestID) {
        self.waiter = waiter; self.blocker = blocker; self.name = name; self.requestID = requestID
    }

    public static func < (a: WaitEdge, b: WaitEdge) -> Bool {
        if a.name != b.name { return a.name < b.name }
        if a.waiter != b.waiter { return a.waiter < b.waiter }
        if a.blocker != b.blocker { return a.blocker < b.blocker }
        return a.requestID < b.requestID
    }

    public var description: String { "\(waiter) → \(blocker) on \(name) (\(requestID))" }
}
