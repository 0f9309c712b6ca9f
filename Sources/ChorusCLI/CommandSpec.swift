import Foundation

/// The grammar of one `chorus` subcommand: its options and positional arguments, with the
/// help text `chorus COMMAND --help` prints. An option may also be read from an environment
/// variable (`environment`); a flag on the command line beats the variable. Invariant: option
/// names are unique and start with "--".
public struct CommandSpec: Sendable {
    public struct Option: Sendable {
        public var name: String
        /// Nil for a boolean flag; otherwise the placeholder shown in help ("N", "HOST:PORT").
        public var value: String?
        public var help: String
        public var repeatable: Bool
        public var defaultText: String?
        /// The environment variable that sets this option when no flag does; nil for none. A
        /// repeatable option's variable holds its values separated by commas.
        public var environment: String?

        public init(_ name: String, value: String? = nil, help: String, repeatable: Bool = false, default defaultText: String? = nil,
                    environment: String? = nil) {
            self.name = name
            self.value = value
            self.help = help
            self.repeatable = repeatable
            self.defaultText = defaultText
            self.environment = environment
        }

        /// This option, also read from `CHORUS_` + its name in capitals with `-` as `_`
        /// (`--data-dir` → `CHORUS_DATA_DIR`), the rule etcd follows for its flags.
        public func readingEnvironment() -> Option {
            var copy = self
            copy.environment = Option.environmentName(of: name)
            return copy
        }

        public static func environmentName(of flag: String) -> String {
            "CHORUS_" + String(flag.drop(while: { $0 == "-" })).uppercased().replacingOccurrences(of: "-", with: "_")
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
            if let v = o.environment { line += " [$\(v)" + (o.repeatable ? ", comma-separated]" : "]") }
            s += line + "\n"
        }
        return s
    }

    /// Parses `arguments` (without the command name); an option that reads the environment and
    /// got no flag takes its variable's value from `environment` (an empty variable counts as
    /// unset).
    public func parse(_ arguments: [String], environment: [String: String] = [:]) throws(UsageError) -> ParsedArguments {
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
        for option in options where parsed.values[option.name] == nil {
            guard let variable = option.environment, let text = environment[variable], !text.isEmpty else { continue }
            guard option.value != nil else { throw UsageError("\(variable) sets \(option.name), which takes no value") }
            let values = option.repeatable
                ? text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                : [text]
            parsed.values[option.name] = values
            parsed.variables[option.name] = variable
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
    /// Options whose values came from the environment, with the variable that set each.
    public var variables: [String: String] = [:]

    public init() {}

    /// How to name where an option's value came from in a message: the flag, or the variable
    /// and the flag it stands for ("CHORUS_SHARDS (--shards)").
    public func origin(_ name: String) -> String {
        variables[name].map { "\($0) (\(name))" } ?? name
    }

    public var wantsHelp: Bool { flags.contains("--help") }
    public func flag(_ name: String) -> Bool { flags.contains(name) }
    public func string(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }

    public func int(_ name: String) throws(UsageError) -> Int? {
        guard let s = string(name) else { return nil }
        guard let v = Int(s) else { throw UsageError("\(origin(name)) expects an integer, got \"\(s)\"") }
        return v
    }
    public func double(_ name: String) throws(UsageError) -> Double? {
        guard let s = string(name) else { return nil }
        guard let v = Double(s), v.isFinite else { throw UsageError("\(origin(name)) expects a number, got \"\(s)\"") }
        return v
    }
    public func probability(_ name: String) throws(UsageError) -> Double? {
        guard let v = try double(name) else { return nil }
        guard (0...1).contains(v) else { throw UsageError("\(origin(name)) must be between 0 and 1, got \(v)") }
        return v
    }
    public func uint64(_ name: String) throws(UsageError) -> UInt64? {
        guard let s = string(name) else { return nil }
        guard let v = UInt64(s) else { throw UsageError("\(origin(name)) expects a non-negative integer, got \"\(s)\"") }
        return v
    }
}

/// A command line that cannot be run as written; printed as one line, exit status 2.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
