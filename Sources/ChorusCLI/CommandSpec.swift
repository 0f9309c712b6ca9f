/// The grammar of one `chorus` subcommand: its options and positional arguments, with the
/// help text `chorus COMMAND --help` prints. Invariant: option names are unique and start
/// with "--".
public struct CommandSpec: Sendable {
    public struct Option: Sendable {
        public var name: String
        /// Nil for a boolean flag; otherwise the placeholder shown in help ("N", "HOST:PORT").
        public var value: String?
        public var help: String
        public var repeatable: Bool
        public var defaultText: String?

        public init(_ name: String, value: String? = nil, help: String, repeatable: Bool = false, default defaultText: String? = nil) {
            self.name = name
            self.value = value
            self.help = help
            self.repeatable = repeatable
            self.defaultText = defaultText
        }
    }

    public var name: String
    public var summary: String
    public var usage: String
    public var options: [Option]
    public var details: String

    public init(name: String, summary: String, usage: String, options: [Option], details: String = "") {
        self.name = name
        self.summary = summary
        self.usage = usage
        self.options = options + [Option("--help", help: "Show this help and exit.")]
        self.details = details
    }

    public var helpText: String {
        var s = "\(summary)\n\nUsage: \(usage)\n"
        if !details.isEmpty { s += "\n\(details)\n" }
        s += "\nOptions:\n"
        let width = options.map { $0.name.count + ($0.value.map { $0.count + 1 } ?? 0) }.max() ?? 0
        for o in options {
            let left = o.name + (o.value.map { " " + $0 } ?? "")
            var line = "  " + left + String(repeating: " ", count: max(1, width - left.count + 2)) + o.help
            if let d = o.defaultText { line += " (default: \(d))" }
            if o.repeatable { line += " (repeatable)" }
            s += line + "\n"
        }
        return s
    }

    /// Parses `arguments` (without the command name).
    public func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var i = 0
        var onlyPositionals = false
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("-") || arg == "-" {
                parsed.positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            if arg == "-h" { parsed.flags.insert("--help"); continue }
            var key = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "=") {
                key = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            guard let option = options.first(where: { $0.name == key }) else {
                throw UsageError("unknown option \(key) for 'chorus \(name)' (see 'chorus \(name) --help')")
            }
            if option.value == nil {
                if inline != nil { throw UsageError("option \(key) takes no value") }
                parsed.flags.insert(key)
                continue
            }
            let value: String
            if let inline { value = inline } else {
                guard i < arguments.count else { throw UsageError("option \(key) needs a value (\(option.value ?? "VALUE"))") }
                value = arguments[i]
                i += 1
            }
            if !option.repeatable && parsed.values[key] != nil {
                throw UsageError("option \(key) given more than once")
            }
            parsed.values[key, default: []].append(value)
        }
        return parsed
    }
}

/// Arguments parsed against a `CommandSpec`, with typed accessors that fail with messages
/// naming the option.
public struct ParsedArguments: Sendable {
    public var values: [String: [String]] = [:]
    public var flags: Set<String> = []
    public var positionals: [String] = []

    public init() {}

    public var wantsHelp: Bool { flags.contains("--help") }
    public func flag(_ name: String) -> Bool { flags.contains(name) }
    public func string(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }

    public func int(_ name: String) throws(UsageError) -> Int? {
        guard let s = string(name) else { return nil }
        guard let v = Int(s) else { throw UsageError("\(name) expects an integer, got \"\(s)\"") }
        return v
    }
    public func double(_ name: String) throws(UsageError) -> Double? {
        guard let s = string(name) else { return nil }
        guard let v = Double(s), v.isFinite else { throw UsageError("\(name) expects a number, got \"\(s)\"") }
        return v
    }
    public func probability(_ name: String) throws(UsageError) -> Double? {
        guard let v = try double(name) else { return nil }
        guard (0...1).contains(v) else { throw UsageError("\(name) must be between 0 and 1, got \(v)") }
        return v
    }
    public func uint64(_ name: String) throws(UsageError) -> UInt64? {
        guard let s = string(name) else { return nil }
        guard let v = UInt64(s) else { throw UsageError("\(name) expects a non-negative integer, got \"\(s)\"") }
        return v
    }
}

/// A command line that cannot be run as written; printed as one line, exit status 2.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
