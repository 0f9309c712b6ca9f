import Foundation
import ChorusSim

/// Loads a scenario file into a cluster config (placeholder until the scenario format lands).
enum ScenarioFile {
    static func load(path: String) throws -> ClusterConfig {
        throw UsageError("scenario files are not supported yet: \(path)")
    }
}
