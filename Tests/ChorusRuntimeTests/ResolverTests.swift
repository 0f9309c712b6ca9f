import ChorusBase
import Testing
@testable import ChorusRuntime

@Suite struct ResolverTests {
    @Test func numericIPv4_resolvesWithoutLookup() throws {
        #expect(try Resolver.resolve("127.0.0.1:7946") == [Endpoint(ip: .loopbackV4, port: 7946)])
    }

    @Test func bracketedIPv6_resolvesToThatAddress() throws {
        #expect(try Resolver.resolve("[::1]:7946") == [Endpoint(ip: .loopbackV6, port: 7946)])
    }

    @Test func localhost_resolvesToALoopbackAddressWithThePort() throws {
        let endpoints = try Resolver.resolve("localhost:7946")
        #expect(!endpoints.isEmpty)
        #expect(endpoints.allSatisfy { ($0.ip == .loopbackV4 || $0.ip == .loopbackV6) && $0.port == 7946 })
        #expect(Set(endpoints).count == endpoints.count)
    }

    @Test(arguments: ["localhost", "localhost:", ":7946", "localhost:99999", "[::1:7946", "[::1]7946", "bad host:1", ""])
    func malformedText_isRefusedNamingTheInput(_ text: String) {
        #expect(throws: ResolveError.malformed(text)) { try Resolver.resolve(text) }
    }

    @Test func unknownHost_failsNamingTheHost() {
        #expect {
            try Resolver.resolve("no-such-host.invalid:7946")
        } throws: { error in
            guard case let .lookupFailed(host, _) = error as? ResolveError else { return false }
            return host == "no-such-host.invalid" && "\(error)".contains("no-such-host.invalid")
        }
    }
}
