/// Why a client-supplied identifier (lock name, request id, session id text) was refused.
/// Invariant: the message names the rule that was broken; nothing was changed anywhere.
public enum LockInputError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidName(String)
    case invalidRequestID(String)
    case invalidSessionID(String)

    public var description: String {
        switch self {
        case let .invalidName(why): return "invalid lock name: \(why)"
        case let .invalidRequestID(why): return "invalid request id: \(why)"
        case let .invalidSessionID(why): return "invalid session id: \(why)"
        }
    }
}
