import Testing
@Test func raftPlaceholder() { #expect(Bool(true)) }
