import Foundation
import Testing
@testable import ChorusSim

@Suite struct SimNodeIDTests {
    @Test func ordersByIndex_andIndexesArrays() {
        let ids = [SimNodeID(5), SimNodeID(0), SimNodeID(Int32(3))]
        #expect(ids.sorted().map(\.index) == [0, 3, 5])
        #expect(SimNodeID(7).description == "n7")
    }

    @Test func codesAsBareInteger() throws {
        let data = try JSONEncoder().encode([SimNodeID(1), SimNodeID(42)])
        #expect(String(decoding: data, as: UTF8.self) == "[1,42]")
        #expect(try JSONDecoder().decode([SimNodeID].self, from: data) == [SimNodeID(1), SimNodeID(42)])
    }
}
