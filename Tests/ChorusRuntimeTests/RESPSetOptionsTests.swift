import Testing
@testable import ChorusRuntime

/// `SET key value [EX s | PX ms]`: the expiry in milliseconds, Redis's error lines for a bad
/// one, and a clear refusal of the options this cache does not implement.
@Suite struct RESPSetOptionsTests {
    func parse(_ words: [String]) -> Result<UInt64?, RESPOptionError> {
        RESPSetOptions.parse(words.map { Array($0.utf8) }, maxTTLMillis: 315_360_000_000)
    }

    @Test func exAndPx_giveMilliseconds_inAnyCase() {
        #expect(parse([]) == .success(nil))
        #expect(parse(["EX", "10"]) == .success(10_000))
        #expect(parse(["px", "250"]) == .success(250))
        #expect(parse(["Ex", "1"]) == .success(1_000))
    }

    @Test(arguments: [["EX", "0"], ["PX", "0"], ["EX", "-1"], ["PX", "-5"], ["EX", "9223372036854775807"],
                      ["PX", "315360000001"], ["EX", "315360001"]])
    func zeroNegativeOrTooLong_isAnInvalidExpireTime(words: [String]) {
        #expect(parse(words) == .failure(RESPOptionError("ERR invalid expire time in 'set' command")))
    }

    @Test(arguments: [["EX", "ten"], ["PX", "1.5"], ["EX", ""], ["EX", "+3"], ["PX", "99999999999999999999"]])
    func aNonInteger_isNotAnInteger(words: [String]) {
        #expect(parse(words) == .failure(RESPOptionError("ERR value is not an integer or out of range")))
    }

    @Test(arguments: [["EX"], ["EX", "1", "PX", "5"], ["EX", "1", "EX", "2"], ["BOGUS"], ["EX", "1", "extra"]])
    func malformed_isASyntaxError(words: [String]) {
        #expect(parse(words) == .failure(RESPOptionError("ERR syntax error")))
    }

    @Test(arguments: ["NX", "XX", "KEEPTTL", "GET", "EXAT", "PXAT"])
    func unsupportedOptions_areRefusedByName(option: String) {
        guard case let .failure(e) = parse([option]) else { Issue.record("accepted \(option)"); return }
        #expect(e.line.hasPrefix("ERR SET \(option) is not supported"))
    }
}
