import Foundation
import Glibc

/// Network namespaces for the chaos test: a hub namespace holding a bridge, and one namespace
/// per node joined to the bridge by a veth pair (`v<i>` in the hub, `eth0` in the node), the
/// node holding 10.77.0.<i>/24. Both ends of every veth are created inside namespaces: the
/// host's own namespace gets no interface, route or address.
///
/// Faults: `cut(from:to:)` adds a blackhole route for the peer's /32 in the sender's
/// namespace (one direction; `split` cuts both), `setLink(_:up:)` takes a node's veth down in
/// the hub. Invariant: `remove()` deletes every namespace this lab created (it is safe to call
/// twice, and the test calls it in a `defer`; `scripts/chaos.sh` removes them again by prefix
/// should the test process itself be killed).
final class NetworkLab: @unchecked Sendable {
    struct CommandFailed: Error, CustomStringConvertible {
        let command: [String]
        let output: String
        var description: String { "`ip \(command.joined(separator: " "))` failed: \(output)" }
    }

    let prefix: String
    let nodeCount: Int
    var hub: String { "\(prefix)-hub" }
    func namespace(_ node: Int) -> String { "\(prefix)-n\(node)" }
    /// The node's only address, on its namespace's veth.
    func address(_ node: Int) -> String { "10.77.0.\(node)" }
    private let lock = NSLock()
    private var cuts: Set<[Int]> = []
    private var created: [String] = []

    /// `prefix` names every namespace (`<prefix>-hub`, `<prefix>-n1` …); nodes are numbered 1…count.
    init(prefix: String, nodeCount: Int) {
        self.prefix = prefix
        self.nodeCount = nodeCount
    }

    func create() throws {
        try make(hub)
        try ip("-n", hub, "link", "set", "lo", "up")
        try ip("-n", hub, "link", "add", "br0", "type", "bridge")
        try ip("-n", hub, "link", "set", "br0", "up")
        for i in 1...nodeCount {
            let ns = namespace(i)
            try make(ns)
            try ip("-n", ns, "link", "set", "lo", "up")
            try ip("-n", hub, "link", "add", "v\(i)", "type", "veth", "peer", "name", "eth0", "netns", ns)
            try ip("-n", hub, "link", "set", "v\(i)", "master", "br0")
            try ip("-n", hub, "link", "set", "v\(i)", "up")
            try ip("-n", ns, "addr", "add", "\(address(i))/24", "dev", "eth0")
            try ip("-n", ns, "link", "set", "eth0", "up")
        }
    }

    private func make(_ ns: String) throws {
        _ = try? ip("netns", "del", ns) // a leftover of a killed run
        try ip("netns", "add", ns)
        lock.withLock { created.append(ns) }
    }

    func remove() {
        let names = lock.withLock { () -> [String] in
            defer { created.removeAll() }
            return created
        }
        for ns in names.reversed() { _ = try? ip("netns", "del", ns) }
    }

    /// Packets from `from` to `to` are dropped (a blackhole route in `from`'s namespace).
    func cut(from: Int, to: Int) throws {
        guard lock.withLock({ cuts.insert([from, to]).inserted }) else { return }
        try ip("-n", namespace(from), "route", "add", "blackhole", "\(address(to))/32")
    }

    /// Cuts both directions between every node of `a` and every node of `b`.
    func split(_ a: [Int], _ b: [Int]) throws {
        for x in a { for y in b { try cut(from: x, to: y); try cut(from: y, to: x) } }
    }

    /// Removes every cut.
    func healCuts() throws {
        let all = lock.withLock { () -> Set<[Int]> in
            defer { cuts.removeAll() }
            return cuts
        }
        for c in all { try ip("-n", namespace(c[0]), "route", "del", "blackhole", "\(address(c[1]))/32") }
    }

    /// Takes the node's link to the bridge down or up (on the hub's side).
    func setLink(_ node: Int, up: Bool) throws {
        try ip("-n", hub, "link", "set", "v\(node)", up ? "up" : "down")
    }

    static let ipPath = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"

    /// Runs `ip` with `arguments`; throws with its output unless it exits 0.
    @discardableResult
    func ip(_ arguments: String...) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.ipPath)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else { throw CommandFailed(command: arguments, output: text) }
        return text
    }
}
