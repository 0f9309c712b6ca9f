// libFuzzer target: sealed messages (`Seal.open`), the first thing every datagram and peer
// frame meets when the cluster is encrypted.
import ChorusSeal

let seal = Seal(keyring: try! Keyring(keys: [SealKey(bytes: Array(repeating: 1, count: 32))!]), mode: .required, cluster: "fuzz")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = seal.open(Array(UnsafeBufferPointer(start: data, count: size)), now: 1_800_000_000_000)
    return 0
}
