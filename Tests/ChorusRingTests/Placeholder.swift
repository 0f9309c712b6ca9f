import Testing
@Test func ringPlaceholder() { #expect(Bool(true)) }
