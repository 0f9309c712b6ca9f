/// Why a request was refused before reaching a handler. Invariant: `status` is a 4xx/5xx
/// code and the connection is closed after the error response (the byte stream can no
/// longer be trusted to frame the next request).
struct HTTPParseError: Error, Equatable {
    let status: Int
    let code: String
    let message: String

    var response: HTTPResponse { .error(status, code: code, message: message) }

    static func bad(_ message: String) -> HTTPParseError { HTTPParseError(status: 400, code: "bad_request", message: message) }
}

/// The parsed start line and headers of a request, before its body.
struct HTTPRequestHead: Equatable {
    var method: HTTPMethod
    var target: String
    var version: HTTPRequest.Version
    var headers: HTTPHeaders
    var contentLength: Int
    var keepAlive: Bool
    var expectsContinue: Bool
}

/// Finds and parses request heads in a connection's input. Total: any byte sequence yields
/// `.needMore`, a head, or an `HTTPParseError`, never a trap. Invariant: never looks further
/// than `maxHeadBytes` into the input, and resumes its search for the blank line where the
/// last call stopped, so a client dribbling bytes costs linear time.
struct HTTPRequestParser {
    enum Outcome: Equatable {
        case needMore
        /// A head occupying the first `length` bytes of the input.
        case head(HTTPRequestHead, length: Int)
        case failure(HTTPParseError)
    }

    let settings: HTTPServerSettings
    /// How many bytes of the current head have been searched for the blank line.
    private var scanned = 0

    init(settings: HTTPServerSettings) { self.settings = settings }

    /// Call after the input's front moved (a head was consumed) to restart the search.
    mutating func reset() { scanned = 0 }

    mutating func parse(_ input: ArraySlice<UInt8>) -> Outcome {
        let limit = min(input.count, settings.maxHeadBytes)
        let base = input.startIndex
        var i = max(scanned, 1)
        while i < limit {
            let b = input[base + i]
            if b == UInt8(ascii: "\n") {
                let p1 = input[base + i - 1]
                if p1 == UInt8(ascii: "\n") || (p1 == UInt8(ascii: "\r") && i >= 2 && input[base + i - 2] == UInt8(ascii: "\n")) {
                    scanned = 0
                    switch parseHead(input[base..<base + i + 1]) {
                    case let .success(head): return .head(head, length: i + 1)
                    case let .failure(error): return .failure(error)
                    }
                }
            }
            i += 1
        }
        scanned = max(limit - 2, 0)
        if input.count >= settings.maxHeadBytes {
            return .failure(HTTPParseError(status: 431, code: "headers_too_large",
                                           message: "request line and headers exceed \(settings.maxHeadBytes) bytes"))
        }
        return .needMore
    }

    private func parseHead(_ bytes: ArraySlice<UInt8>) -> Result<HTTPRequestHead, HTTPParseError> {
        var lines: [ArraySlice<UInt8>] = []
        for var line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.contains(UInt8(ascii: "\r")) { return .failure(.bad("bare CR in request head")) }
            lines.append(line)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { return .failure(.bad("empty request")) }

        // Request line: METHOD SP TARGET SP VERSION, single spaces.
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(.bad("malformed request line")) }
        guard HTTPMethod.isToken(parts[0]) else { return .failure(.bad("malformed method")) }
        let method = HTTPMethod(rawValue: String(decoding: parts[0], as: UTF8.self))
        let targetBytes = parts[1]
        guard targetBytes.first == UInt8(ascii: "/"), targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.bad("request target must be an absolute path"))
        }
        let target = String(decoding: targetBytes, as: UTF8.self)
        let version: HTTPRequest.Version
        switch String(decoding: parts[2], as: UTF8.self) {
        case "HTTP/1.1": version = .http11
        case "HTTP/1.0": version = .http10
        case let v where v.hasPrefix("HTTP/") && v.utf8.count == 8:
            return .failure(HTTPParseError(status: 505, code: "version_not_supported", message: "\(v) is not supported; use HTTP/1.1"))
        default: return .failure(.bad("malformed HTTP version"))
        }
        let (rawPath, query) = HTTPRequest.split(target)
        guard PercentDecoding.decode(Substring(rawPath)) != nil else { return .failure(.bad("invalid percent-encoding in path")) }
        if let query, PercentDecoding.queryItems(query) == nil { return .failure(.bad("invalid percent-encoding in query")) }

        // Header fields.
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let first = line.first else { return .failure(.bad("empty header line")) }
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { return .failure(.bad("obsolete header line folding")) }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .failure(.bad("header line without colon")) }
            let name = line[line.startIndex..<colon]
            guard HTTPMethod.isToken(name) else { return .failure(.bad("malformed header name")) }
            var value = line[(colon + 1)...]
            while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
            if value.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
                return .failure(.bad("control character in header value"))
            }
            if headers.count >= settings.maxHeaderCount {
                return .failure(HTTPParseError(status: 431, code: "headers_too_large", message: "more than \(settings.maxHeaderCount) header fields"))
            }
            headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        }

        // Framing: Content-Length only. Chunked uploads are refused so the body's end is
        // always known before reading it, and CL/TE smuggling cannot arise.
        if headers.contains("Transfer-Encoding") {
            return .failure(HTTPParseError(status: 411, code: "length_required",
                                           message: "Transfer-Encoding (chunked) request bodies are not supported; send Content-Length"))
        }
        var contentLength = 0
        let lengths = headers.values("Content-Length").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        if !lengths.isEmpty {
            let texts = Set(lengths.map { $0.trimmingASCIIWhitespace() })
            guard texts.count == 1, let text = texts.first, !text.isEmpty, text.utf8.count <= 18,
                  text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text) else {
                return .failure(.bad("malformed Content-Length"))
            }
            contentLength = n
        }
        if contentLength > settings.maxBodyBytes {
            return .failure(HTTPParseError(status: 413, code: "body_too_large",
                                           message: "request body of \(contentLength) bytes exceeds limit of \(settings.maxBodyBytes) bytes"))
        }
        if version == .http11 && headers.values("Host").count != 1 {
            return .failure(.bad("HTTP/1.1 request needs exactly one Host header"))
        }
        var expectsContinue = false
        if let expect = headers["Expect"] {
            guard expect.lowercased() == "100-continue" else {
                return .failure(HTTPParseError(status: 417, code: "expectation_failed", message: "unsupported Expect: \(expect)"))
            }
            expectsContinue = true
        }
        let keepAlive = version == .http11 ? !headers.hasToken("close", in: "Connection") : headers.hasToken("keep-alive", in: "Connection")
        return .success(HTTPRequestHead(method: method, target: target, version: version, headers: headers,
                                        contentLength: contentLength, keepAlive: keepAlive, expectsContinue: expectsContinue))
    }
}
