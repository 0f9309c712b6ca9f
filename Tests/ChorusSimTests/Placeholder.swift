import Testing
@Test func ChorusSimTestsBuilds() { #expect(Bool(true)) }
