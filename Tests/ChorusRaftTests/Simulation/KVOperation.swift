/// One client operation on the key-value register, as the linearizability checker sees it.
/// Invariant: `call <= returned`; `returned == .max` means the outcome is unknown (a write
/// that may still take effect); `discarded` operations had no effect and are not checked.
struct KVOperation: CustomStringConvertible {
    enum Kind: Equatable { case put(String), get }
    var client: Int
    var key: String
    var kind: Kind
    var call: Int64
    var returned: Int64 = .max
    var output: String?
    var discarded = false

    var description: String {
        let r = returned == .max ? "∞" : "\(returned)"
        switch kind {
        case let .put(v): return "c\(client) put(\(key)=\(v)) [\(call), \(r)]"
        case .get: return "c\(client) get(\(key)) → \(output ?? "nil") [\(call), \(r)]"
        }
    }
}
