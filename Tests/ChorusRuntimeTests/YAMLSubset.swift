@testable import ChorusRuntime

/// Reads the YAML subset `docs/openapi.yaml` is written in into a `JSONValue` tree, so the
/// contract test needs no YAML library.
///
/// The subset: block mappings and block sequences indented with spaces (a sequence item may
/// open a mapping on its own line, `- key: value`); one scalar per line — plain (`true`,
/// `false`, `null`, `~`, integers and decimals become those; anything else a string),
/// `'single'` (with `''` for a quote) or `"double"` quoted (JSON escapes); `|` and `>` block
/// scalars; flow collections written as JSON (`["a", "b"]`, `{}`, `{"k": 1}`); `#` comments
/// on their own line or after a plain scalar. Keys are strings. Invariant: anything outside
/// the subset is an error naming its line, never a guess.
enum YAMLSubset {
    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let reason: String
        var description: String { "YAML line \(line): \(reason)" }
    }

    private struct Line {
        let number: Int
        let indent: Int
        var text: String
    }

    static func parse(_ text: String) throws(ParseError) -> JSONValue {
        let raw = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var reader = Reader(raw: raw)
        return try reader.document()
    }

    private struct Reader {
        let raw: [String]
        var lines: [Line] = []
        var i = 0

        init(raw: [String]) {
            self.raw = raw
            for (n, line) in raw.enumerated() {
                let body = line.drop { $0 == " " }
                if body.isEmpty || body.hasPrefix("#") { continue }
                lines.append(Line(number: n + 1, indent: line.count - body.count, text: String(body)))
            }
        }

        mutating func document() throws(ParseError) -> JSONValue {
            guard let first = lines.first else { return .null }
            for line in lines where line.text.hasPrefix("\t") {
                throw ParseError(line: line.number, reason: "tab in indentation")
            }
            let value = try block(indent: first.indent)
            if i < lines.count { throw ParseError(line: lines[i].number, reason: "unexpected indentation") }
            return value
        }

        /// The block (mapping or sequence) whose lines start at `indent`.
        mutating func block(indent: Int) throws(ParseError) -> JSONValue {
            guard i < lines.count, lines[i].indent == indent else { return .null }
            return isItem(lines[i].text) ? try sequence(indent: indent) : try mapping(indent: indent)
        }

        func isItem(_ text: String) -> Bool { text == "-" || text.hasPrefix("- ") }

        mutating func sequence(indent: Int) throws(ParseError) -> JSONValue {
            var items: [JSONValue] = []
            while i < lines.count, lines[i].indent == indent, isItem(lines[i].text) {
                let line = lines[i]
                let content = String(line.text.dropFirst(1).drop { $0 == " " })
                if content.isEmpty {
                    i += 1
                    guard i < lines.count, lines[i].indent > indent else { items.append(.null); continue }
                    items.append(try block(indent: lines[i].indent))
                } else if try Reader.splitKey(content, line: line.number) != nil {
                    // `- key: value`: the item is a mapping whose first key sits after "- ".
                    lines[i] = Line(number: line.number, indent: indent + (line.text.count - content.count), text: content)
                    items.append(try mapping(indent: lines[i].indent))
                } else {
                    i += 1
                    items.append(try Reader.scalar(content, line: line.number))
                }
            }
            return .array(items)
        }

        mutating func mapping(indent: Int) throws(ParseError) -> JSONValue {
            var object: [String: JSONValue] = [:]
            while i < lines.count, lines[i].indent == indent {
                let line = lines[i]
                if isItem(line.text) { throw ParseError(line: line.number, reason: "sequence item inside a mapping") }
                guard let (key, rest) = try Reader.splitKey(line.text, line: line.number) else {
                    throw ParseError(line: line.number, reason: "expected `key: value`")
                }
                guard object[key] == nil else { throw ParseError(line: line.number, reason: "duplicate key \"\(key)\"") }
                i += 1
                if rest.isEmpty {
                    if i < lines.count, lines[i].indent > indent {
                        object[key] = try block(indent: lines[i].indent)
                    } else {
                        object[key] = .null
                    }
                } else if rest == "|" || rest == "|-" || rest == ">" || rest == ">-" {
                    object[key] = .string(blockScalar(after: line, folded: rest.hasPrefix(">"), keepNewline: !rest.hasSuffix("-")))
                } else {
                    object[key] = try Reader.scalar(rest, line: line.number)
                }
            }
            return .object(object)
        }

        /// The lines more indented than `header` that follow it, raw (blank lines kept).
        mutating func blockScalar(after header: Line, folded: Bool, keepNewline: Bool) -> String {
            var collected: [String] = []
            var n = header.number  // index in `raw` of the first line after the header
            var blockIndent: Int?
            while n < raw.count {
                let line = raw[n]
                let body = line.drop { $0 == " " }
                let lineIndent = line.count - body.count
                if body.isEmpty { collected.append(""); n += 1; continue }
                if lineIndent <= header.indent { break }
                let indent = blockIndent ?? lineIndent
                blockIndent = indent
                collected.append(String(line.dropFirst(min(indent, lineIndent))))
                n += 1
            }
            while collected.last == "" { collected.removeLast() }
            while i < lines.count, lines[i].number <= n { i += 1 }
            let text = folded ? collected.joined(separator: " ") : collected.joined(separator: "\n")
            return keepNewline ? text + "\n" : text
        }

        /// `key: rest` or `key:` split at the first `:` followed by a space or the end, outside
        /// quotes; nil when the text is not a key.
        static func splitKey(_ text: String, line: Int) throws(ParseError) -> (String, String)? {
            if text.hasPrefix("{") || text.hasPrefix("[") { return nil }
            if let quote = text.first, quote == "\"" || quote == "'" {
                guard let (key, end) = quoted(text, line: line) else { return nil }
                let after = text[end...]
                guard after.hasPrefix(":") else { return nil }
                let rest = after.dropFirst()
                guard rest.isEmpty || rest.hasPrefix(" ") else { return nil }
                return (key, trimmed(String(rest)))
            }
            var previous: Character = " "
            for index in text.indices {
                let c = text[index]
                if c == "#" && previous == " " { return nil }
                if c == ":" {
                    let next = text.index(after: index)
                    if next == text.endIndex || text[next] == " " {
                        return (String(text[..<index]), trimmed(String(text[next...])))
                    }
                }
                previous = c
            }
            return nil
        }

        static func trimmed(_ s: String) -> String {
            String(s.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        }

        /// A quoted string at the start of `text` and the index just past its closing quote.
        static func quoted(_ text: String, line: Int) -> (String, String.Index)? {
            guard let quote = text.first else { return nil }
            var index = text.index(after: text.startIndex)
            if quote == "'" {
                var out = ""
                while index < text.endIndex {
                    let c = text[index]
                    index = text.index(after: index)
                    if c == "'" {
                        if index < text.endIndex, text[index] == "'" { out.append("'"); index = text.index(after: index); continue }
                        return (out, index)
                    }
                    out.append(c)
                }
                return nil
            }
            var escaped = false
            while index < text.endIndex {
                let c = text[index]
                index = text.index(after: index)
                if escaped { escaped = false; continue }
                if c == "\\" { escaped = true; continue }
                if c == "\"" {
                    guard let value = try? JSONValue.parse(Array(text[..<index].utf8)), let s = value.stringValue else { return nil }
                    return (s, index)
                }
            }
            return nil
        }

        static func scalar(_ text: String, line: Int) throws(ParseError) -> JSONValue {
            if text.hasPrefix("{") || text.hasPrefix("[") {
                do { return try JSONValue.parse(Array(text.utf8)) } catch {
                    throw ParseError(line: line, reason: "flow collections must be JSON: \(error.message)")
                }
            }
            if text.hasPrefix("\"") || text.hasPrefix("'") {
                guard let (value, end) = quoted(text, line: line) else { throw ParseError(line: line, reason: "unterminated or invalid quoted string") }
                let rest = trimmed(String(text[end...]))
                guard rest.isEmpty || rest.hasPrefix("#") else { throw ParseError(line: line, reason: "text after a quoted string") }
                return .string(value)
            }
            var plain = text
            if let comment = plain.range(of: " #") { plain = String(plain[..<comment.lowerBound]) }
            plain = trimmed(plain)
            switch plain {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null", "~": return .null
            default: break
            }
            if plain.first.map({ $0.isNumber || $0 == "-" }) == true {
                if let n = Int64(plain) { return .integer(n) }
                if plain.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "e" || $0 == "E" || $0 == "+" }),
                   plain.filter({ $0 == "." }).count <= 1, let d = Double(plain), d.isFinite {
                    return .number(d)
                }
            }
            return .string(plain)
        }
    }
}
