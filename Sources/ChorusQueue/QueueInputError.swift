/// Why a client-supplied value (a queue name, a key, a producer or consumer id) was refused.
/// Invariant: the message names the value and the rule it broke; nothing was changed.
public struct QueueInputError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
