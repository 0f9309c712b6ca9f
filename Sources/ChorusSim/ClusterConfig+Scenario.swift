import ChorusBase

extension ClusterConfig {
    /// The run a scenario file describes.
    public init(scenario: Scenario) throws(SimSettingError) {
        try scenario.validate()
        guard scenario.join.mode == .seed else {
            throw SimSettingError(field: "join.mode", message: "the membership simulator bootstraps through seeds; \"all_known\" is not supported")
        }
        self.init()
        nodes = scenario.nodes
        duration = scenario.duration
        seed = scenario.seed
        network = scenario.network.model
        joinSpread = Interval(seconds: scenario.join.spreadSeconds)
        seeds = scenario.join.seeds.map(\.index)
        actions = scenario.actionsInTimeOrder
    }
}
