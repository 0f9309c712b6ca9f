import Testing
@testable import ChorusCLI

@Suite struct CommandSpecTests {
    let spec = CommandSpec(name: "demo", summary: "Demo.", usage: "chorus demo [options]", options: [
        .init("--nodes", value: "N", help: "How many."),
        .init("--seed", value: "HOST:PORT", help: "A seed.", repeatable: true),
        .init("--json", help: "JSON output."),
    ])

    @Test func parsesValuesFlagsAndPositionals() throws {
        let p = try spec.parse(["--nodes", "5", "--seed=a:1", "--seed", "b:2", "--json", "file.json"])
        #expect(try p.int("--nodes") == 5)
        #expect(p.all("--seed") == ["a:1", "b:2"])
        #expect(p.flag("--json"))
        #expect(p.positionals == ["file.json"])
    }

    @Test func refusesUnknownMissingAndRepeatedOptions() {
        #expect(throws: UsageError.self) { try spec.parse(["--bogus"]) }
        #expect(throws: UsageError.self) { try spec.parse(["--nodes"]) }
        #expect(throws: UsageError.self) { try spec.parse(["--nodes", "1", "--nodes", "2"]) }
        #expect(throws: UsageError.self) { try spec.parse(["--json=yes"]) }
        #expect(throws: UsageError.self) { try spec.parse(["--nodes", "x"]).int("--nodes") }
    }

    @Test func helpListsEveryOption() {
        for name in ["--nodes", "--seed", "--json", "--help"] { #expect(spec.helpText.contains(name)) }
    }
}
