import Foundation

/// An HTTP response to send. Invariant: the body is sent as-is with a `Content-Length` the
/// server computes; `Content-Length`, `Transfer-Encoding` and `Connection` set here are
/// ignored because the server owns framing and connection reuse.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text (nil if it is not).
    public var bodyText: String? { String(validating: body, as: UTF8.self) }

    /// A JSON body from an `Encodable` value, keys sorted so output is stable. If encoding
    /// fails (a non-finite Double, say) the answer is a 500 error saying so.
    public static func json<T: Encodable>(_ status: Int, _ value: T) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return jsonBytes(status, Array(try encoder.encode(value)))
        } catch {
            return .error(500, code: "encoding_failed", message: "response could not be encoded as JSON: \(error)")
        }
    }

    /// A JSON body from a dictionary of JSON-compatible values (String, numbers, Bool, NSNull,
    /// arrays and dictionaries of those). Anything else gives a 500 error instead of a trap.
    public static func json(_ status: Int, _ object: [String: Any]) -> HTTPResponse {
        if let bytes = JSONObjectWriter.write(object) { return jsonBytes(status, bytes) }
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else {
            return .error(500, code: "encoding_failed", message: "response is not a valid JSON object")
        }
        return jsonBytes(status, Array(data))
    }

    /// The API's error shape: `{"error":{"code":"...","message":"..."}}`.
    public static func error(_ status: Int, code: String, message: String) -> HTTPResponse {
        struct Body: Encodable { let error: Detail }
        struct Detail: Encodable { let code: String; let message: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Two Strings always encode; the fallback only satisfies the type checker.
        let bytes = (try? encoder.encode(Body(error: Detail(code: code, message: message)))).map { Array($0) }
            ?? Array(#"{"error":{"code":"internal","message":"error body could not be encoded"}}"#.utf8)
        return jsonBytes(status, bytes)
    }

    /// A plain-text body.
    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: Array(text.utf8))
    }

    private static func jsonBytes(_ status: Int, _ bytes: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: bytes + [UInt8(ascii: "\n")])
    }
}
