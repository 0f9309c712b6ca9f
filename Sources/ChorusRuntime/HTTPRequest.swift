import ChorusBase
import Foundation

/// One parsed HTTP/1.x request. Invariants: `path` and every query item are
/// percent-decoded valid UTF-8; `body` is exactly the `Content-Length` bytes; header names
/// are tokens and values hold no CR/LF.
public struct HTTPRequest: Sendable {
    /// One `name=value` pair from the query string, in order.
    public struct QueryItem: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    public enum Version: Sendable, Equatable { case http10, http11 }

    public var method: HTTPMethod
    /// The request target as sent (path and query, still encoded).
    public var target: String
    /// The path as sent, still percent-encoded (the router splits this, so an encoded `/`
    /// stays inside one segment).
    public var rawPath: String
    /// The percent-decoded path.
    public var path: String
    public var queryItems: [QueryItem]
    public var version: Version
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Who sent it (the TCP peer).
    public var remote: Endpoint
    /// Values captured from `{name}` segments of the matching route; filled by `HTTPRouter`.
    public var pathParameters: [String: String] = [:]

    public init(method: HTTPMethod, target: String, version: Version = .http11, headers: HTTPHeaders = HTTPHeaders(),
                body: [UInt8] = [], remote: Endpoint = Endpoint(ip: .loopbackV4, port: 0)) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.remote = remote
        let (rawPath, query) = HTTPRequest.split(target)
        self.rawPath = rawPath
        self.path = PercentDecoding.decode(Substring(rawPath)) ?? rawPath
        self.queryItems = query.flatMap { PercentDecoding.queryItems($0) } ?? []
    }

    /// Query parameters by name; when a name repeats, the first value wins (see `queryItems`
    /// for all of them).
    public var query: [String: String] {
        var out: [String: String] = [:]
        for item in queryItems where out[item.name] == nil { out[item.name] = item.value }
        return out
    }

    /// The first value of query parameter `name`.
    public func query(_ name: String) -> String? { queryItems.first { $0.name == name }?.value }

    /// The body decoded as UTF-8 (nil if it is not).
    public var bodyText: String? { String(validating: body, as: UTF8.self) }

    /// Decodes a JSON body.
    public func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(body))
    }

    /// "/a/b?x=1" → ("/a/b", "x=1").
    static func split(_ target: String) -> (path: String, query: Substring?) {
        guard let q = target.firstIndex(of: "?") else { return (target, nil) }
        return (String(target[..<q]), target[target.index(after: q)...])
    }
}
