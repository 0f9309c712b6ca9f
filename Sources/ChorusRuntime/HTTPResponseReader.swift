/// Incrementally parses one HTTP/1.x response for `HTTPClient`: status line, headers, then a
/// Content-Length, chunked or close-delimited body; interim 1xx responses are skipped.
/// Total: any byte sequence ends in a response, `.malformed` or `.tooLarge`, never a trap.
/// Invariant: never buffers more than `maxBytes`.
struct HTTPResponseReader {
    enum Outcome {
        case needMore
        case complete(HTTPClientResponse)
        case malformed(String)
        case tooLarge
    }

    private enum BodyMode {
        case length(Int)
        case chunked
        case untilClose
    }

    let maxBytes: Int
    let isHead: Bool
    private var buffer: [UInt8] = []
    private var status = 0
    private var headers = HTTPHeaders()
    private var mode: BodyMode?
    // Chunked decoding progress.
    private var offset = 0
    private var body: [UInt8] = []
    private var chunkRemaining = 0
    private var inTrailers = false

    init(maxBytes: Int, isHead: Bool) {
        self.maxBytes = maxBytes
        self.isHead = isHead
    }

    mutating func feed(_ bytes: ArraySlice<UInt8>) -> Outcome {
        guard buffer.count + bytes.count <= maxBytes + 64 * 1024 else { return .tooLarge }
        buffer.append(contentsOf: bytes)
        return advance()
    }

    /// The peer closed the connection.
    mutating func finish() -> Outcome {
        if let mode, case .untilClose = mode {
            return .complete(HTTPClientResponse(status: status, headers: headers, body: Array(buffer[offset...])))
        }
        return .needMore
    }

    private mutating func advance() -> Outcome {
        while mode == nil {
            guard let end = headEnd() else {
                return buffer.count > 64 * 1024 ? .malformed("response head larger than 64 KiB") : .needMore
            }
            if let problem = parseHead(buffer[0..<end]) { return .malformed(problem) }
            buffer.removeFirst(end)
            if (100..<200).contains(status) {
                headers = HTTPHeaders()
                continue  // interim response; the real one follows
            }
            if isHead || status == 204 || status == 304 {
                mode = .length(0)
            } else if headers.hasToken("chunked", in: "Transfer-Encoding") {
                mode = .chunked
            } else if let text = headers["Content-Length"] {
                guard let n = Int(text.trimmingASCIIWhitespace()), n >= 0 else { return .malformed("bad Content-Length \(text)") }
                guard n <= maxBytes else { return .tooLarge }
                mode = .length(n)
            } else {
                mode = .untilClose
            }
        }
        switch mode {
        case let .length(n)?:
            guard buffer.count >= n else { return .needMore }
            return .complete(HTTPClientResponse(status: status, headers: headers, body: Array(buffer[0..<n])))
        case .chunked?:
            return advanceChunked()
        case .untilClose?, nil:
            return buffer.count > maxBytes ? .tooLarge : .needMore
        }
    }

    /// Index just past the blank line ending the head, if present.
    private func headEnd() -> Int? {
        var i = 1
        while i < buffer.count {
            if buffer[i] == UInt8(ascii: "\n") {
                if buffer[i - 1] == UInt8(ascii: "\n") { return i + 1 }
                if i >= 2 && buffer[i - 1] == UInt8(ascii: "\r") && buffer[i - 2] == UInt8(ascii: "\n") { return i + 1 }
            }
            i += 1
        }
        return nil
    }

    /// Parses status line and headers; returns a problem description or nil.
    private mutating func parseHead(_ bytes: ArraySlice<UInt8>) -> String? {
        // Split bytes, not Characters: Swift treats "\r\n" as one Character.
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line -> Substring in
            let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            return Substring(String(decoding: trimmed, as: UTF8.self))
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let statusLine = lines.first else { return "empty response" }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].utf8.count == 3,
              let code = Int(parts[1]), (100...599).contains(code) else {
            return "bad status line \"\(statusLine.prefix(80))\""
        }
        status = code
        headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return "header line without colon" }
            headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingASCIIWhitespace())
        }
        return nil
    }

    private mutating func advanceChunked() -> Outcome {
        while true {
            if chunkRemaining > 0 {
                let available = min(chunkRemaining, buffer.count - offset)
                guard available > 0 else { return .needMore }
                body.append(contentsOf: buffer[offset..<offset + available])
                offset += available
                chunkRemaining -= available
                if body.count > maxBytes { return .tooLarge }
                if chunkRemaining > 0 { return .needMore }
                // The CRLF after the chunk data.
                guard let lineEnd = lineEnd(from: offset) else { return .needMore }
                guard lineEnd.start == offset else { return .malformed("chunk data longer than its size") }
                offset = lineEnd.next
                continue
            }
            guard let lineEnd = lineEnd(from: offset) else { return .needMore }
            let line = String(decoding: buffer[offset..<lineEnd.start], as: UTF8.self)
            offset = lineEnd.next
            if inTrailers {
                if line.isEmpty {
                    return .complete(HTTPClientResponse(status: status, headers: headers, body: body))
                }
                continue
            }
            let sizeText = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map { $0.trimmingASCIIWhitespace() } ?? ""
            guard !sizeText.isEmpty, sizeText.utf8.count <= 15, let size = Int(sizeText, radix: 16), size >= 0 else {
                return .malformed("bad chunk size \"\(line.prefix(40))\"")
            }
            if size == 0 {
                inTrailers = true
                continue
            }
            guard body.count + size <= maxBytes else { return .tooLarge }
            chunkRemaining = size
        }
    }

    /// The end of the line starting at `from`: where its terminator starts, and the index after it.
    private func lineEnd(from: Int) -> (start: Int, next: Int)? {
        var i = from
        while i < buffer.count {
            if buffer[i] == UInt8(ascii: "\n") {
                let start = i > from && buffer[i - 1] == UInt8(ascii: "\r") ? i - 1 : i
                return (start, i + 1)
            }
            i += 1
        }
        return nil
    }
}
