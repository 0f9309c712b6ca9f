import Testing
@Test func ChorusMembershipTestsBuilds() { #expect(Bool(true)) }
