/// A simulation setting or scenario field that was refused.
///
/// Invariant: `field` names the offending setting as a path a person can find in the input
/// (`network.loss`, `actions[3].nodes[1]`), and `message` states the rule it broke.
public struct SimSettingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.isEmpty ? message : "\(field): \(message)" }

    /// Throws `SimSettingError(field:message:)` unless `condition` holds.
    @inlinable
    static func require(_ condition: Bool, _ field: String, _ message: @autoclosure () -> String) throws(SimSettingError) {
        if !condition { throw SimSettingError(field: field, message: message()) }
    }
}
