/// A command that ran but failed (agent unreachable, refused request, bad config file):
/// printed as one line, exit status 1. Invariant: `message` is a single line.
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message.replacingOccurrences(of: "\n", with: " ") }
    public var description: String { message }
}
