import Testing
@Test func ChorusRuntimeTestsBuilds() { #expect(Bool(true)) }
