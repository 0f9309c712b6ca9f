// libFuzzer target: agent config files (`AgentConfigFile.parse`), JSON with comments.
@testable import ChorusCLI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? AgentConfigFile.parse(text, source: "fuzz")
    return 0
}
