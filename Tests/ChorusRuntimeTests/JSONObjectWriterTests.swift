import ChorusBase
import Foundation
import Testing
@testable import ChorusRuntime

/// The API's JSON writer: what it writes parses back (Foundation's parser) to what it was
/// given, keys come sorted, every control character and quote is escaped, and anything it
/// cannot write is left to Foundation's serializer (which refuses non-JSON with a 500).
@Suite struct JSONObjectWriterTests {
    static func parse(_ bytes: [UInt8]) -> NSDictionary? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? NSDictionary
    }

    @Test func answersOfEveryShape_parseBackToThemselves_withSortedKeys() throws {
        let object: [String: Any] = [
            "key": "a/b \"quoted\" \\ tab\t nl\n cr\r bell\u{07} del\u{7F} é 日本 🎉",
            "index": 42, "term": UInt64.max, "negative": Int64.min, "small": UInt8(7), "port": UInt16(7946),
            "ok": true, "no": false, "nothing": NSNull(), "half": 0.5, "whole": 3.0, "tiny": 1e-7,
            "list": ["x", 1, false, ["nested": [1, 2, 3]]] as [Any], "strings": ["a", "b"],
            "object": ["z": 1, "a": ["deep": "yes"]] as [String: Any],
        ]
        let bytes = try #require(JSONObjectWriter.write(object))
        let parsed = try #require(Self.parse(bytes))
        let reference = try #require(Self.parse(Array(try JSONSerialization.data(withJSONObject: object))))
        #expect(parsed == reference)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"half":0.5,"index":42,"key":"a/b \"quoted\" \\ tab\t nl\n cr\r bell\u0007 del\u007f"#))
        #expect(!text.contains("\\/"))
    }

    @Test func randomStrings_alwaysParseBackExactly() throws {
        var rng = SeededRandom(seed: 11)
        for _ in 0..<2_000 {
            let scalars = (0..<Int(rng.next() % 24)).compactMap { _ -> Unicode.Scalar? in
                let pick = rng.next() % 4
                let v: UInt32 = pick == 0 ? UInt32(rng.next() % 0x80) : pick == 1 ? UInt32(rng.next() % 0x20) : UInt32(rng.next() % 0x3_0000)
                return Unicode.Scalar(v)
            }
            var s = ""
            s.unicodeScalars.append(contentsOf: scalars)
            let bytes = try #require(JSONObjectWriter.write(["k" + s: s, "n": Int(bitPattern: UInt(rng.next()))]))
            let parsed = try #require(Self.parse(bytes), "\(String(decoding: bytes, as: UTF8.self))")
            #expect(parsed["k" + s] as? String == s)
        }
    }

    @Test func whatItCannotWrite_isLeftToFoundation_whichRefusesNonJSON() {
        #expect(JSONObjectWriter.write(["date": Date()]) == nil)
        #expect(JSONObjectWriter.write(["nan": Double.nan]) == nil)
        #expect(JSONObjectWriter.write(["float": Float(1.5)]) == nil)
        #expect(HTTPResponse.json(200, ["nan": Double.nan]).status == 500)
        #expect(HTTPResponse.json(200, ["ok": true]).body == Array("{\"ok\":true}\n".utf8))
    }
}
