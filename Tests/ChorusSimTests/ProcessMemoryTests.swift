import Testing
@testable import ChorusSim

@Suite struct ProcessMemoryTests {
    @Test func readsResidentMemory_onLinux() throws {
        let current = try #require(ProcessMemory.currentResidentBytes())
        let peak = try #require(ProcessMemory.peakResidentBytes())
        #expect(current > 1 << 20)
        #expect(peak >= current / 2)  // peak ≥ current, give or take the moment between reads
    }

    @Test func parsesTheStatusFormat() {
        let status = "Name:\ttest\nVmHWM:\t    2168 kB\nVmRSS:\t  1024 kB\nVmWeird:\t 3 pages\n"
        #expect(ProcessMemory.parseField("VmHWM", in: status) == 2168 * 1024)
        #expect(ProcessMemory.parseField("VmRSS", in: status) == 1024 * 1024)
        #expect(ProcessMemory.parseField("VmWeird", in: status) == nil)
        #expect(ProcessMemory.parseField("VmSwap", in: status) == nil)
    }
}
