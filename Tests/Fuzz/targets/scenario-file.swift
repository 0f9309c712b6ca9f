// libFuzzer target: simulator scenario files (`Scenario.decode`) and the cluster config
// made from a scenario that decodes.
import ChorusSim
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    if let s = try? Scenario.decode(data: bytes) { _ = try? ClusterConfig(scenario: s) }
    return 0
}
