import Testing
@Test func ChorusProcessTestsBuilds() { #expect(Bool(true)) }
