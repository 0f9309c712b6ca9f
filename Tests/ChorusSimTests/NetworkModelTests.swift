import ChorusBase
import Testing
@testable import ChorusSim

@Suite struct NetworkModelTests {
    @Test func linkOverride_appliesToOneDirectionOnly() {
        var model = NetworkModel(latency: .constant(.milliseconds(1)))
        model.linkLatency[SimLink(from: SimNodeID(0), to: SimNodeID(1))] = .constant(.milliseconds(80))
        #expect(model.latency(from: SimNodeID(0), to: SimNodeID(1)) == .constant(.milliseconds(80)))
        #expect(model.latency(from: SimNodeID(1), to: SimNodeID(0)) == .constant(.milliseconds(1)))
    }

    @Test func validate_refusesProbabilityOutOfRange_namingIt() {
        var model = NetworkModel()
        #expect(throws: Never.self) { try model.validate() }
        model.duplication = 1.5
        do {
            try model.validate()
            Issue.record("expected an error")
        } catch {
            #expect(error.field == "network.duplication")
            #expect(error.description.contains("[0, 1]"))
        }
        model.duplication = 0
        model.reorderSpan = .milliseconds(-3)
        #expect(throws: SimSettingError(field: "network.reorderSpan", message: "must not be negative (got -3ms)")) { try model.validate() }
    }
}
