import Foundation

/// The bearer token the HTTP API demands when a token file is set.
///
/// Invariants: the secret is 16...4,096 bytes of printable ASCII without spaces (read from
/// the file with surrounding whitespace trimmed), and `admits` compares in time that depends
/// only on the lengths, never on where the bytes first differ.
public struct APIToken: Sendable, Equatable {
    public static let minBytes = 16
    public static let maxBytes = 4096
    /// Paths served without a token: liveness checks by load balancers and supervisors.
    static let openPaths: Set<String> = ["/health"]

    private let secret: [UInt8]

    /// A token from its text; refuses one too short, too long or holding non-printable bytes.
    public init(_ text: String) throws(AgentStartError) {
        let bytes = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard bytes.count >= Self.minBytes, bytes.count <= Self.maxBytes else {
            throw .invalidSetting("API token must be \(Self.minBytes)...\(Self.maxBytes) bytes, got \(bytes.count)")
        }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidSetting("API token must be printable ASCII without spaces")
        }
        secret = bytes
    }

    /// The token in the file at `path`.
    public static func load(path: String) throws(AgentStartError) -> APIToken {
        guard let data = FileManager.default.contents(atPath: path), data.count <= maxBytes + 64 else {
            throw .invalidSetting("API token file \(path) cannot be read or is larger than \(maxBytes) bytes")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .invalidSetting("API token file \(path) is not UTF-8 text")
        }
        return try APIToken(text)
    }

    /// Whether `request` may be served: `GET /health` always, anything else only with
    /// `Authorization: Bearer <token>`.
    func admits(_ request: HTTPRequest) -> Bool {
        if (request.method == .get || request.method == .head) && Self.openPaths.contains(request.path) { return true }
        guard let field = request.headers["Authorization"] else { return false }
        let prefix = Array("Bearer ".utf8)
        let given = Array(field.utf8)
        guard given.count > prefix.count, given[..<prefix.count].elementsEqual(prefix) else { return false }
        return Self.constantTimeEqual(given[prefix.count...], secret)
    }

    /// Whether `given` is the token (a RESP `AUTH`).
    func admits(secret given: [UInt8]) -> Bool { Self.constantTimeEqual(given[...], secret) }

    /// Equal bytes, in time that depends on the lengths only.
    static func constantTimeEqual(_ a: ArraySlice<UInt8>, _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
        var i = a.startIndex
        for k in 0..<b.count {
            let x = i < a.endIndex ? a[i] : 0
            difference |= x ^ b[k]
            if i < a.endIndex { i += 1 }
        }
        return difference == 0
    }

    /// The answer to a request without the token.
    static let refusal: HTTPResponse = {
        var r = HTTPResponse.error(401, code: "unauthorized", message: "this API needs Authorization: Bearer <token> (the agent's --api-token-file)")
        r.headers.set("WWW-Authenticate", "Bearer")
        return r
    }()
}
