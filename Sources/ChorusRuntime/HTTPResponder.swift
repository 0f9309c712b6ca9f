import Synchronization

/// Answers one HTTP request, now or later (after a long-poll, say), from any thread.
///
/// Invariants: the response is delivered at most once — later calls return false and are
/// dropped; and a responder released without answering sends `500 no_response`, so a
/// forgetful handler cannot leave a client hanging. The server ignores a response that
/// arrives after the connection closed or after its response timeout answered instead.
public final class HTTPResponder: Sendable {
    private let deliver: @Sendable (HTTPResponse) -> Void
    private let responded = Atomic<Bool>(false)

    /// `deliver` receives the one response (the server passes one that hops to its loop;
    /// tests can capture it).
    public init(_ deliver: @escaping @Sendable (HTTPResponse) -> Void) {
        self.deliver = deliver
    }

    /// Sends `response`. Returns false, doing nothing, if a response was already sent.
    @discardableResult
    public func respond(_ response: HTTPResponse) -> Bool {
        guard responded.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return false
        }
        deliver(response)
        return true
    }

    public var hasResponded: Bool { responded.load(ordering: .acquiring) }

    deinit {
        if !responded.load(ordering: .acquiring) {
            deliver(.error(500, code: "no_response", message: "the request handler finished without responding"))
        }
    }
}

/// Carries a loop-confined object through a `@Sendable` closure. Invariant: `value` is only
/// touched on its event loop's thread; the closure that holds the box hops there first.
final class LoopBound<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
