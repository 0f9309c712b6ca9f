/// One client operation on the key-value register, as the linearizability checker sees it.
/// Invariant: `call <= returned`; `returned == .max` means the outcome is unknown (a write
/// that may still take effect); `discarded` operations had no effect and are not checked.
public struct KVOperation: CustomStringConvertible, Sendable {
    public enum Kind: Equatable, Sendable { case put(String), get }
    public var client: Int
    public var key: String
    public var kind: Kind
    public var call: Int64
    public var returned: Int64 = .max
    public var output: String?
    public var discarded = false

    public init(client: Int, key: String, kind: Kind, call: Int64, returned: Int64 = .max, output: String? = nil,
                discarded: Bool = false) {
        self.client = client
        self.key = key
        self.kind = kind
        self.call = call
        self.returned = returned
        self.output = output
        self.discarded = discarded
    }

    public var description: String {
        let r = returned == .max ? "∞" : "\(returned)"
        switch kind {
        case let .put(v): return "c\(client) put(\(key)=\(v)) [\(call), \(r)]"
        case .get: return "c\(client) get(\(key)) → \(output ?? "nil") [\(call), \(r)]"
        }
    }
}
