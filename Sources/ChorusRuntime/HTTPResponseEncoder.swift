/// Serialises an `HTTPResponse` into HTTP/1.1 wire bytes. Invariant: the server alone writes
/// the framing headers (`Content-Length`, `Connection`) and `Date`, so a handler cannot make
/// a response whose length disagrees with its body, and a status outside 100...599 is sent as
/// 500.
enum HTTPResponseEncoder {
    static let serverManaged: Set<String> = ["content-length", "transfer-encoding", "connection", "date"]

    /// - Parameters:
    ///   - omitBody: true for HEAD: headers describe the body, but it is not sent.
    ///   - close: announce `Connection: close`.
    ///   - keepAliveHTTP10: announce `Connection: keep-alive` to an HTTP/1.0 client.
    static func encode(_ response: HTTPResponse, omitBody: Bool, close: Bool, keepAliveHTTP10: Bool = false) -> [UInt8] {
        let status = (100...599).contains(response.status) ? response.status : 500
        var head = "HTTP/1.1 \(status) \(HTTPStatus.reason(status))\r\n"
        for field in response.headers where !serverManaged.contains(field.name.lowercased()) {
            guard HTTPMethod.isToken(field.name.utf8) else { continue }
            head += "\(field.name): \(field.value)\r\n"
        }
        head += "Date: \(WallClock.httpDate())\r\n"
        let noBody = HTTPStatus.forbidsBody(status)
        if !noBody { head += "Content-Length: \(response.body.count)\r\n" }
        if close {
            head += "Connection: close\r\n"
        } else if keepAliveHTTP10 {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if !noBody && !omitBody { bytes.append(contentsOf: response.body) }
        return bytes
    }

    /// The interim response sent before reading a body the client announced with
    /// `Expect: 100-continue`.
    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}
