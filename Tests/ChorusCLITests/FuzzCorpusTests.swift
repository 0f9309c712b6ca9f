import Foundation
import Testing
import ChorusSeal
@testable import ChorusCLI
@testable import ChorusRuntime

/// Replays the libFuzzer corpus of the agent's text and sealed inputs (HTTP requests, config
/// files, sealed messages) through the decoders the fuzz targets call: none may crash.
@Suite struct AgentFuzzCorpusTests {
    static func inputs(_ target: String) -> [[UInt8]] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().compactMap { FileManager.default.contents(atPath: dir.appendingPathComponent($0).path).map { Array($0) } }
    }

    @Test func outsideBytes_fromTheCorpus_neverCrashADecoder() throws {
        var replayed = 0
        for b in Self.inputs("http-request") {
            var parser = HTTPRequestParser(settings: HTTPServerSettings())
            _ = parser.parse(b[...])
            replayed += 1
        }
        for b in Self.inputs("config-file") { _ = try? AgentConfigFile.parse(String(decoding: b, as: UTF8.self), source: "corpus"); replayed += 1 }
        let seal = Seal(keyring: try Keyring(keys: [SealKey(bytes: Array(repeating: 1, count: 32))!]), mode: .required, cluster: "fuzz")
        for b in Self.inputs("sealed-message") { _ = seal.open(b, now: 1_800_000_000_000); replayed += 1 }
        #expect(replayed >= 4, "the corpus is missing (\(replayed) inputs)")
    }
}
