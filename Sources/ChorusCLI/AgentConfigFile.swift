import Foundation
import ChorusMembership
import ChorusRing
import ChorusRuntime

/// What a `chorus agent --config FILE` file says, key by key; absent keys are nil and the
/// protocol tunables are already applied to `membership` and the ring's to `placement`.
///
/// Format: one JSON object with the keys in `AgentConfigFile.keys` and
/// `ProtocolSettingKey.allCases`. Two kinds of comments are accepted: lines whose first
/// non-blank characters are `//` (removed before parsing), and keys that start with `_`
/// (such as `"_comment"`), which are ignored.
///
/// Invariant: loading fails, naming the file and the key, on an unknown key, a value of the
/// wrong type, protocol settings that `MembershipSettings.validate()` refuses, or placement
/// settings that `PlacementSettings.validate()` refuses.
struct AgentConfigFile {
    var name: String?
    var bind: String?
    var advertise: String?
    var resp: String?
    var api: String?
    var apiTokenFile: String?
    var keyringFile: String?
    var encrypt: String?
    var seeds: [String]?
    var cluster: String?
    var dataDir: String?
    var tags: [String: String]?
    var logLevel: String?
    var logFormat: String?
    var maxDatagramBytes: Int?
    var drainTimeoutMillis: Int?
    /// `cache_max_bytes`: an integer, or a string with a unit ("512MiB").
    var cacheMaxBytes: String?
    var bootstrapExpect: Int?
    var queueBodiesOnDisk: Bool?
    var snapshotEvery: Int?
    var membership = MembershipSettings()
    var placement = PlacementSettings()

    /// Keys besides the protocol tunables.
    static let keys = ["name", "bind", "advertise", "api", "resp", "api_token_file", "keyring_file", "encrypt", "seeds", "cluster", "data_dir", "tags",
                       "log_level", "log_format", "max_datagram_bytes", "ring_vnodes", "shards", "replicas", "drain_timeout_ms",
                       "bootstrap_expect", "cache_max_bytes", "queue_bodies_on_disk", "snapshot_every"]

    init() {}

    static func load(path: String) throws(CommandFailure) -> AgentConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw CommandFailure("config file \(path) \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw CommandFailure("config file \(path) is not UTF-8 text") }
        return try parse(text, source: path)
    }

    static func parse(_ text: String, source: String) throws(CommandFailure) -> AgentConfigFile {
        func fail(_ message: String) -> CommandFailure { CommandFailure("config file \(source): \(message)") }
        let stripped = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("//") ? "" : String($0) }
            .joined(separator: "\n")
        let root: JSONValue
        do { root = try JSONValue.parse(Array(stripped.utf8)) } catch { throw fail(error.message) }
        guard let object = root.objectValue else { throw fail("must hold one JSON object, not \(root.typeName)") }

        var config = AgentConfigFile()
        for key in object.keys.sorted() where !key.hasPrefix("_") {
            guard let value = object[key] else { continue }
            if let protocolKey = ProtocolSettingKey(rawValue: key) {
                do { try protocolKey.apply(value, to: &config.membership) } catch { throw fail(error.description) }
                continue
            }
            func string() throws(CommandFailure) -> String {
                guard let s = value.stringValue else { throw fail("\(key) must be a string, got \(value.brief)") }
                return s
            }
            func integer() throws(CommandFailure) -> Int {
                guard let n = value.intValue else { throw fail("\(key) must be an integer, got \(value.brief)") }
                return n
            }
            switch key {
            case "name": config.name = try string()
            case "bind": config.bind = try string()
            case "advertise": config.advertise = try string()
            case "resp": config.resp = try string()
            case "api": config.api = try string()
            case "api_token_file": config.apiTokenFile = try string()
            case "keyring_file": config.keyringFile = try string()
            case "encrypt": config.encrypt = try string()
            case "cluster": config.cluster = try string()
            case "data_dir": config.dataDir = try string()
            case "log_level": config.logLevel = try string()
            case "log_format": config.logFormat = try string()
            case "seeds":
                guard let list = value.arrayValue else { throw fail("seeds must be an array of \"HOST:PORT\" strings, got \(value.brief)") }
                var seeds: [String] = []
                for item in list {
                    guard let s = item.stringValue else { throw fail("seeds must hold strings, got \(item.brief)") }
                    seeds.append(s)
                }
                config.seeds = seeds
            case "tags":
                guard let map = value.objectValue else { throw fail("tags must be an object of string values, got \(value.brief)") }
                var tags: [String: String] = [:]
                for (k, v) in map {
                    guard let s = v.stringValue else { throw fail("tag \"\(k)\" must have a string value, got \(v.brief)") }
                    tags[k] = s
                }
                config.tags = tags
            case "max_datagram_bytes": config.maxDatagramBytes = try integer()
            case "ring_vnodes": config.placement.virtualNodesPerMember = try integer()
            case "shards": config.placement.shardCount = try integer()
            case "replicas": config.placement.replicationFactor = try integer()
            case "drain_timeout_ms": config.drainTimeoutMillis = try integer()
            case "bootstrap_expect": config.bootstrapExpect = try integer()
            case "snapshot_every": config.snapshotEvery = try integer()
            case "queue_bodies_on_disk":
                guard case let .bool(b) = value else { throw fail("queue_bodies_on_disk must be true or false, got \(value.brief)") }
                config.queueBodiesOnDisk = b
            case "cache_max_bytes":
                if let n = value.intValue { config.cacheMaxBytes = String(n) } else {
                    guard let s = value.stringValue else { throw fail("cache_max_bytes must be an integer or a size such as \"512MiB\", got \(value.brief)") }
                    config.cacheMaxBytes = s
                }
            default:
                throw fail("unknown key \"\(key)\" (known keys: \((keys + ProtocolSettingKey.allCases.map(\.rawValue)).joined(separator: ", ")))")
            }
        }
        do { try config.membership.validate() } catch { throw fail(error.message) }
        do { try config.placement.validate() } catch { throw fail(error.message) }
        return config
    }
}
