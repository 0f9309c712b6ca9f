import Foundation
import Testing
@testable import ChorusCLI

/// What every client command has in common: `--json`, `--api`, `CHORUS_API`, one-line errors
/// ending with a newline and a non-zero exit, and completion scripts naming every option.
@Suite struct CommandLineHabitsTests {
    /// The commands that talk to an agent.
    static let clientSpecs: [CommandSpec] = [MembersCommand.spec, JoinCommand.spec, LeaveCommand.spec, InfoCommand.spec, HealthCommand.spec,
                                             TagsCommand.spec, RingCommand.spec, ShardsCommand.spec, LockAcquireCommand.spec,
                                             LockReleaseCommand.spec, LockCommand.statusSpec, LockCommand.listSpec, LockBenchCommand.spec]

    @Test func everyClientCommand_takesJSONAndAPI() {
        for spec in Self.clientSpecs {
            #expect(spec.options.contains { $0.name == "--json" }, "\(spec.name)")
            #expect(spec.options.contains { $0.name == "--api" && $0.help.contains("CHORUS_API") }, "\(spec.name)")
        }
    }

    @Test func everyCommandOfTheUsage_hasAGrammar() {
        for (name, _) in Chorus.commands {
            #expect(Chorus.specs.contains { $0.name == name || $0.name.hasPrefix(name + " ") }, "\(name)")
        }
    }

    /// Runs a command line and returns its exit status and what it reported as errors.
    func run(_ argv: [String]) -> (Int32, String) {
        var errors = ""
        let status = Chorus.run(["chorus"] + argv) { errors += $0 }
        return (status, errors)
    }

    @Test(arguments: [["frobnicate"], ["members", "--bogus"], ["lock", "acquire"], ["completion", "fish"], ["dev", "--nodes", "0"],
                      ["members", "--api", "127.0.0.1:1"], ["lock", "release", "x"],
                      ["tags", "set", "a=b", "--json", "--api", "127.0.0.1:1"], []])
    func error_isOneLineEndingWithANewline_andExitsNonZero(argv: [String]) {
        let (status, errors) = run(argv)
        #expect(status != 0)
        #expect(errors.hasSuffix("\n"), "\(errors)")
        if !argv.isEmpty { #expect(errors.dropLast().contains("\n") == false, "\(errors)") }
    }

    @Test func errorLine_foldsAMultiLineMessage() {
        #expect(Chorus.errorLine("first\nsecond") == "chorus: first second\n")
    }

    // MARK: lock acquire NAME -- COMMAND, lock release

    @Test func acquire_everythingAfterDoubleDashIsTheCommand() throws {
        let (r, _) = try #require(try LockAcquireCommand.parse(["deploy", "--wait", "1s", "--", "./deploy.sh", "--env", "prod", "--", "x"]))
        #expect(r.command == ["./deploy.sh", "--env", "prod", "--", "x"])
        #expect(r.wait == .seconds(1))
        let (viaExec, _) = try #require(try LockAcquireCommand.parse(["deploy", "--exec", "make", "-j2"]))
        #expect(viaExec.command == ["make", "-j2"])
        #expect(throws: UsageError.self) { try LockAcquireCommand.parse(["deploy", "--"]) }
        #expect(throws: UsageError.self) { try LockAcquireCommand.parse(["deploy", "--json", "--", "true"]) }
    }

    @Test func release_takesTheSessionFromTheFlagOrTheLockEnvironment() throws {
        let flag = try #require(try LockReleaseCommand.parse(["jobs/a", "--session", "s1"], environment: ["CHORUS_LOCK_SESSION": "s2"]))
        #expect(flag.name == "jobs/a")
        #expect(flag.session == "s1")
        let env = try #require(try LockReleaseCommand.parse(["jobs/a"], environment: ["CHORUS_LOCK_SESSION": "s2"]))
        #expect(env.session == "s2")
        #expect(throws: UsageError.self) { try LockReleaseCommand.parse(["jobs/a"], environment: [:]) }
        #expect(throws: UsageError.self) { try LockReleaseCommand.parse([], environment: ["CHORUS_LOCK_SESSION": "s"]) }
        #expect(throws: UsageError.self) { try LockReleaseCommand.parse(["a", "b"], environment: ["CHORUS_LOCK_SESSION": "s"]) }
        #expect(try LockReleaseCommand.parse(["--help"], environment: [:]) == nil)
    }

    // MARK: completion

    var tree: CompletionTree { CompletionTree(commands: Chorus.commands, specs: Chorus.specs) }

    @Test func completionScripts_nameEveryCommandSubcommandAndOption() {
        for script in [tree.bashScript, tree.zshScript] {
            for spec in Chorus.specs {
                for word in spec.name.split(separator: " ") { #expect(script.contains(String(word)), "\(spec.name)") }
                for option in spec.options { #expect(script.contains(option.name), "\(spec.name) \(option.name)") }
            }
        }
        #expect(Chorus.run(["chorus", "completion", "bash"]) { _ in } == 0)
    }

    /// Asks the bash script what it completes for `line` (the last word is the one completed).
    func bashCompletes(_ words: [String]) throws -> [String] {
        let dir = NSTemporaryDirectory() + "chorus-completion-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = dir + "/chorus.bash"
        try tree.bashScript.write(toFile: script, atomically: true, encoding: .utf8)
        let quoted = (["chorus"] + words).map { "'" + $0 + "'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "source '\(script)'; COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count); _chorus; printf '%s\\n' \"${COMPREPLY[@]}\""]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func bashCompletion_offersCommandsSubcommandsAndOptions() throws {
        #expect(try bashCompletes(["de"]) == ["dev"])
        #expect(try bashCompletes(["lock", "re"]) == ["release"])
        #expect(try bashCompletes(["lock", "acquire", "x", "--sh"]) == ["--shared"])
        #expect(try bashCompletes(["agent", "--data-"]) == ["--data-dir"])
        #expect(try bashCompletes(["members", "--api", ""]).isEmpty)
        #expect(try bashCompletes(["completion", ""]) == ["bash", "zsh"])
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zsh"), "zsh is installed"))
    func zshScript_parses() throws {
        let path = NSTemporaryDirectory() + "chorus-zsh-\(UInt32.random(in: 0 ... .max))"
        try tree.zshScript.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/zsh")
        p.arguments = ["-n", path]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    @Test func zshScript_quotesEveryHelpText() {
        // Every single quote of a help text is closed and reopened ('\''), so the quotes pair up.
        let script = tree.zshScript.replacingOccurrences(of: "'\\''", with: "")
        for line in script.split(separator: "\n") {
            #expect(line.filter { $0 == "'" }.count % 2 == 0, "\(line)")
        }
    }
}
