import Foundation
import ChorusRing

/// `chorus bench ring`: balance, churn and speed of the consistent-hash ring for several
/// cluster sizes (N) and virtual node counts (V). The figures behind the default V
/// (docs/ring.md). Invariant: everything but the timings is a pure function of the options,
/// so two runs print the same balance and churn columns.
enum RingBenchCommand {
    static let spec = CommandSpec(
        name: "bench ring",
        summary: "Measure the ring: keys per node, keys moved by a join or a leave, build time, lookups/s.",
        usage: "chorus bench ring [options]",
        options: [
            .init("--keys", value: "K", help: "Keys (\"key-0\", \"key-1\", ...) placed on every ring.", default: "1000000"),
            .init("--nodes", value: "N,N,...", help: "Cluster sizes (members named node-0, node-1, ...).", default: "10,100,1000"),
            .init("--vnodes", value: "V,V,...", help: "Virtual nodes per member.", default: "1,8,20,64,128,256"),
            .init("--trials", value: "T", help: "Joins and leaves measured per configuration, averaged.", default: "5"),
            .init("--json", help: "Print exactly one JSON object."),
        ],
        details: """
            max/mean and p99/mean: the largest and the 99th-percentile (nearest rank) number of keys a
            member holds, over the mean K/N. join/leave: fraction of keys whose owner changes when one
            member joins (ideal 1/(N+1)) or leaves (ideal 1/N), and that fraction over the ideal.
            shards max/mean: replicas the busiest member hosts, 64 shards × 3 replicas.
            """)

    /// One (N, V) configuration's figures.
    struct Row {
        var nodes = 0, vnodes = 0
        var maxOverMean = 0.0, p99OverMean = 0.0, minOverMean = 0.0
        var joinMoved = 0.0, joinIdeal = 0.0, leaveMoved = 0.0, leaveIdeal = 0.0
        var shardMaxOverMean = 0.0
        var buildMilliseconds = 0.0, lookupsPerSecond = 0.0
        var ringBytes = 0
        /// False if a join moved a key to anyone but the newcomer, or a leave moved a key
        /// the leaver did not hold (consistent hashing broken).
        var consistent = true
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let kind = args.first, kind != "--help", kind != "-h" else {
            print(spec.helpText)
            return args.isEmpty ? 2 : 0
        }
        guard kind == "ring" else { throw UsageError("unknown benchmark \"\(kind)\" (available: ring)") }
        let p = try spec.parse(Array(args.dropFirst()))
        if p.wantsHelp { print(spec.helpText); return 0 }
        if !p.positionals.isEmpty { throw UsageError("chorus bench ring takes no arguments, got \"\(p.positionals[0])\"") }
        let keyCount = try p.int("--keys") ?? 1_000_000
        guard (1...100_000_000).contains(keyCount) else { throw UsageError("--keys must be in 1...100000000, got \(keyCount)") }
        let nodeCounts = try list(p, "--nodes", default: [10, 100, 1000], range: 1...100_000)
        let vnodeCounts = try list(p, "--vnodes", default: [1, 8, 20, 64, 128, 256], range: PlacementSettings.virtualNodeLimit)
        let trials = try p.int("--trials") ?? 5
        guard (1...100).contains(trials) else { throw UsageError("--trials must be in 1...100, got \(trials)") }

        let clock = ContinuousClock()
        let keyNames = (0..<keyCount).map { "key-\($0)" }
        var keys: [Token] = []
        keys.reserveCapacity(keyCount)
        let hashTime = clock.measure {
            for name in keyNames { keys.append(Token(key: name)) }
        }
        let hashNanoseconds = seconds(hashTime) * 1e9 / Double(keyCount)

        var rows: [Row] = []
        for n in nodeCounts {
            for v in vnodeCounts {
                rows.append(measure(nodes: n, vnodes: v, keys: keys, trials: trials, clock: clock))
            }
        }
        if p.flag("--json") {
            print(json(rows, keys: keyCount, trials: trials, hashNanoseconds: hashNanoseconds))
        } else {
            print(text(rows, keys: keyCount, trials: trials, hashNanoseconds: hashNanoseconds))
        }
        return rows.allSatisfy(\.consistent) ? 0 : 1
    }

    static func measure(nodes n: Int, vnodes v: Int, keys: [Token], trials: Int, clock: ContinuousClock) -> Row {
        var row = Row(nodes: n, vnodes: v)
        let names = (0..<n).map { "node-\($0)" }
        let view = names.map { RingMember(name: $0, status: .alive) }

        // Build time: repeat small builds until 0.1 s has passed, so the figure is not noise.
        var ring = Ring(members: view, virtualNodesPerMember: v)
        var builds = 0
        var total = 0.0
        repeat {
            total += seconds(clock.measure { ring = Ring(members: view, virtualNodesPerMember: v) })
            builds += 1
        } while total < 0.1 && builds < 1_000
        row.buildMilliseconds = total * 1e3 / Double(builds)
        row.ringBytes = ring.count * 12

        // Owners of every key on the full ring, timed: the lookup rate.
        var owners = [Int32](repeating: 0, count: keys.count)
        let lookupTime = clock.measure {
            for (i, k) in keys.enumerated() { owners[i] = Int32(ring.ownerIndex(of: k)!) }
        }
        row.lookupsPerSecond = Double(keys.count) / seconds(lookupTime)

        var counts = [Int](repeating: 0, count: n)
        for o in owners { counts[Int(o)] += 1 }
        counts.sort()
        let mean = Double(keys.count) / Double(n)
        row.maxOverMean = Double(counts.last!) / mean
        row.minOverMean = Double(counts.first!) / mean
        let rank = Int((0.99 * Double(n)).rounded(.up)) - 1
        row.p99OverMean = Double(counts[max(0, rank)]) / mean

        let shards = ShardMap(ring: ring)
        var hosted = [Int](repeating: 0, count: n)
        for placement in shards.placements {
            for r in placement.replicas { hosted[ring.index(of: r)!] += 1 }
        }
        let hostedMean = Double(shards.shardCount * min(shards.replicationFactor, n)) / Double(n)
        row.shardMaxOverMean = Double(hosted.max()!) / hostedMean

        // Joins: newcomers not in the cluster; every moved key must go to the newcomer.
        var joinMoved = 0.0
        for t in 0..<trials {
            let newcomer = "joiner-\(t)"
            let grown = Ring(members: view + [RingMember(name: newcomer, status: .alive)], virtualNodesPerMember: v)
            let (moved, consistent) = movedKeys(from: ring, owners: owners, to: grown, keys: keys) { _, new in
                new == newcomer
            }
            joinMoved += moved
            row.consistent = row.consistent && consistent
        }
        row.joinMoved = joinMoved / Double(trials)
        row.joinIdeal = 1 / Double(n + 1)

        // Leaves: members spread over the name list; every moved key must be the leaver's.
        if n > 1 {
            var leaveMoved = 0.0
            for t in 0..<trials {
                let leaver = names[(t + 1) * n / (trials + 1)]
                var shrunkView = view
                shrunkView[(t + 1) * n / (trials + 1)].status = .left
                let shrunk = Ring(members: shrunkView, virtualNodesPerMember: v)
                let (moved, consistent) = movedKeys(from: ring, owners: owners, to: shrunk, keys: keys) { old, _ in
                    old == leaver
                }
                leaveMoved += moved
                row.consistent = row.consistent && consistent
            }
            row.leaveMoved = leaveMoved / Double(trials)
            row.leaveIdeal = 1 / Double(n)
        }
        return row
    }

    /// Fraction of keys whose owner differs between `old` (owners precomputed) and `new`,
    /// and whether every move satisfied `allowed(oldOwner, newOwner)`.
    static func movedKeys(from old: Ring, owners: [Int32], to new: Ring, keys: [Token],
                          allowed: (String, String) -> Bool) -> (Double, Bool) {
        // Member indices differ between the rings; translate new indices to old ones (-1:
        // not in the old ring) once, instead of comparing names per key.
        let translate = new.members.map { name in Int32(old.index(of: name) ?? -1) }
        var moved = 0
        var consistent = true
        for (i, k) in keys.enumerated() {
            let newOwner = new.ownerIndex(of: k)!
            if translate[newOwner] != owners[i] {
                moved += 1
                if consistent && !allowed(old.members[Int(owners[i])], new.members[newOwner]) { consistent = false }
            }
        }
        return (Double(moved) / Double(keys.count), consistent)
    }

    static func list(_ p: ParsedArguments, _ name: String, default value: [Int], range: ClosedRange<Int>) throws(UsageError) -> [Int] {
        guard let text = p.string(name) else { return value }
        var out: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let x = Int(part.trimmingCharacters(in: .whitespaces)), range.contains(x) else {
                throw UsageError("\(name) expects comma-separated integers in \(range), got \"\(text)\"")
            }
            out.append(x)
        }
        return out
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    static func text(_ rows: [Row], keys: Int, trials: Int, hashNanoseconds: Double) -> String {
        var table = TextTable(["nodes", "vnodes", "max/mean", "p99/mean", "join moved (×ideal)", "leave moved (×ideal)",
                               "shards max/mean", "build", "lookups/s", "ring size"])
        for r in rows {
            table.append([
                String(r.nodes), String(r.vnodes),
                String(format: "%.2f", r.maxOverMean), String(format: "%.2f", r.p99OverMean),
                String(format: "%.4f (%.2f×)", r.joinMoved, r.joinMoved / r.joinIdeal),
                r.nodes > 1 ? String(format: "%.4f (%.2f×)", r.leaveMoved, r.leaveMoved / r.leaveIdeal) : "-",
                String(format: "%.2f", r.shardMaxOverMean),
                String(format: "%.3f ms", r.buildMilliseconds),
                String(format: "%.1f M", r.lookupsPerSecond / 1e6),
                r.ringBytes >= 1 << 20 ? String(format: "%.1f MiB", Double(r.ringBytes) / 1_048_576)
                    : String(format: "%.1f KiB", Double(r.ringBytes) / 1024),
            ])
        }
        var s = "\(keys) keys, \(trials) joins and \(trials) leaves per row, key hashing \(String(format: "%.0f", hashNanoseconds)) ns/key\n"
        s += table.text
        if rows.contains(where: { !$0.consistent }) { s += "\nWARNING: a join or leave moved keys it should not have" }
        return s
    }

    static func json(_ rows: [Row], keys: Int, trials: Int, hashNanoseconds: Double) -> String {
        func num(_ x: Double) -> String { String(format: "%.6g", x) }
        let items = rows.map { r in
            "{\"nodes\":\(r.nodes),\"vnodes\":\(r.vnodes),\"max_over_mean\":\(num(r.maxOverMean)),"
                + "\"p99_over_mean\":\(num(r.p99OverMean)),\"min_over_mean\":\(num(r.minOverMean)),"
                + "\"join_moved\":\(num(r.joinMoved)),\"join_ideal\":\(num(r.joinIdeal)),"
                + "\"leave_moved\":\(num(r.leaveMoved)),\"leave_ideal\":\(num(r.leaveIdeal)),"
                + "\"shard_replicas_max_over_mean\":\(num(r.shardMaxOverMean)),"
                + "\"build_ms\":\(num(r.buildMilliseconds)),\"lookups_per_second\":\(num(r.lookupsPerSecond)),"
                + "\"ring_bytes\":\(r.ringBytes),\"consistent\":\(r.consistent)}"
        }
        return "{\"keys\":\(keys),\"trials\":\(trials),\"hash_ns_per_key\":\(num(hashNanoseconds)),\"results\":["
            + items.joined(separator: ",") + "]}"
    }
}
