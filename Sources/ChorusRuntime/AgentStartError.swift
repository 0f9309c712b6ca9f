import ChorusBase

/// Why an agent could not start. Invariant: `description` is one line naming the problem
/// (the setting, address or path involved), fit to print before exiting non-zero.
public enum AgentStartError: Error, Sendable, CustomStringConvertible {
    /// A setting breaks a rule; the message names it.
    case invalidSetting(String)
    /// A socket could not be bound; `role` says which ("gossip (UDP)", "API", ...).
    case cannotBind(role: String, SocketError)
    /// The data directory cannot be created, read or written.
    case dataDirectory(path: String, reason: String)
    /// No address to advertise could be chosen.
    case noAdvertiseAddress(String)
    /// The event loop could not be created.
    case eventLoop(EventLoopError)

    public var description: String {
        switch self {
        case let .invalidSetting(message): return "invalid setting: \(message)"
        case let .cannotBind(role, error): return "cannot listen for \(role): \(error)"
        case let .dataDirectory(path, reason): return "data directory \(path) is not usable: \(reason)"
        case let .noAdvertiseAddress(message): return message
        case let .eventLoop(error): return error.description
        }
    }
}
