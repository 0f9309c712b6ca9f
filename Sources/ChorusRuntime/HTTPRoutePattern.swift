/// A path pattern such as `/v1/locks/{name}`: literal segments and `{param}` segments.
/// Invariant: a pattern starts with `/`, and each `{param}` name is non-empty and appears
/// once; matching compares percent-decoded segments, so an encoded `/` (`%2F`) stays inside
/// one parameter value.
public struct HTTPRoutePattern: Sendable, Equatable, CustomStringConvertible {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    let segments: [Segment]
    public let description: String

    /// Parses a pattern; nil for one not starting with `/`, with an empty or repeated
    /// `{param}` name, or with braces inside a segment.
    public init?(_ text: String) {
        guard text.hasPrefix("/") else { return nil }
        var segments: [Segment] = []
        var names: Set<String> = []
        for part in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count >= 2 {
                let name = String(part.dropFirst().dropLast())
                guard !name.isEmpty, !name.contains("{"), !name.contains("}"), names.insert(name).inserted else { return nil }
                segments.append(.parameter(name))
            } else {
                guard !part.contains("{"), !part.contains("}") else { return nil }
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
        self.description = text
    }

    /// The captured parameters if `rawPath` (still percent-encoded) matches; nil otherwise
    /// or when a segment's encoding is invalid.
    func match(_ rawPath: String) -> [String: String]? {
        guard rawPath.hasPrefix("/") else { return nil }
        let parts = rawPath.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == segments.count else { return nil }
        var captured: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            guard let decoded = PercentDecoding.decode(part) else { return nil }
            switch segment {
            case let .literal(text): guard decoded == text else { return nil }
            case let .parameter(name):
                guard !decoded.isEmpty else { return nil }
                captured[name] = decoded
            }
        }
        return captured
    }
}
