import ChorusRuntime
import Foundation

/// `chorus snapshot save|restore`: an offline backup of one stopped node's data directory as
/// one archive file, and its restore into an empty directory (`DataDirectorySnapshot`).
///
/// A restore rolls a node's Raft term, vote and log back to the moment of the save. Into a
/// live cluster that is unsafe (the node may vote twice in a term, or forget entries it
/// acknowledged and so un-commit them), so `restore` insists on `--whole-cluster`: the
/// operator states that every node of the cluster is being restored from archives saved
/// while the whole cluster was stopped. A single lost node is replaced instead by starting it
/// with an empty data directory and `--join` (docs/operations.md).
enum SnapshotCommand {
    static let saveSpec = CommandSpec(
        name: "snapshot save",
        summary: "Save a stopped node's data directory into one archive file (manifest, CRC-32C of every file, fsynced).",
        usage: "chorus snapshot save --data-dir DIR --out FILE",
        options: [
            .init("--data-dir", value: "DIR", help: "The node's data directory; refused while an agent holds it.").readingEnvironment(),
            .init("--out", value: "FILE", help: "The archive to write; must not exist."),
        ])

    static let restoreSpec = CommandSpec(
        name: "snapshot restore",
        summary: "Restore an archive into an empty or new data directory, after verifying the whole archive.",
        usage: "chorus snapshot restore --in FILE --data-dir DIR --whole-cluster",
        options: [
            .init("--in", value: "FILE", help: "An archive written by chorus snapshot save."),
            .init("--data-dir", value: "DIR", help: "The directory to restore into: absent or empty.").readingEnvironment(),
            .init("--whole-cluster", help: "Required: every node of the cluster is restored from archives saved while all were stopped. To replace one lost node, start it empty with --join instead."),
        ])

    static var helpText: String {
        """
        Offline backup and restore of a node's data directory.

        Usage: chorus snapshot save --data-dir DIR --out FILE
               chorus snapshot restore --in FILE --data-dir DIR --whole-cluster

        Run 'chorus snapshot save --help' or 'chorus snapshot restore --help' for their options.
        """
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let sub = args.first else { throw UsageError("chorus snapshot needs a subcommand: save or restore (see 'chorus snapshot --help')") }
        let rest = Array(args.dropFirst())
        switch sub {
        case "--help", "-h", "help": print(helpText); return 0
        case "save": return try runSave(rest)
        case "restore": return try runRestore(rest)
        default: throw UsageError("unknown snapshot subcommand \"\(sub)\": use save or restore")
        }
    }

    static func runSave(_ args: [String]) throws -> Int32 {
        let p = try saveSpec.parse(args)
        if p.wantsHelp { print(saveSpec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus snapshot save takes no arguments, got \"\(p.positionals[0])\"") }
        guard let dir = p.string("--data-dir") else { throw UsageError("chorus snapshot save needs --data-dir DIR") }
        guard let out = p.string("--out") else { throw UsageError("chorus snapshot save needs --out FILE") }
        let s = try DataDirectorySnapshot.save(dataDirectory: dir, to: out, savedAtMillis: UInt64(max(0, Date().timeIntervalSince1970 * 1_000)))
        print("saved \(dir) to \(out): \(s.files) files, \(s.bytes) bytes (node \(s.nodeName.isEmpty ? "-" : s.nodeName), raft id \(String(s.raftID, radix: 16)))")
        return 0
    }

    static func runRestore(_ args: [String]) throws -> Int32 {
        let p = try restoreSpec.parse(args)
        if p.wantsHelp { print(restoreSpec.helpText); return 0 }
        guard p.positionals.isEmpty else { throw UsageError("chorus snapshot restore takes no arguments, got \"\(p.positionals[0])\"") }
        guard let input = p.string("--in") else { throw UsageError("chorus snapshot restore needs --in FILE") }
        guard let dir = p.string("--data-dir") else { throw UsageError("chorus snapshot restore needs --data-dir DIR") }
        guard p.flag("--whole-cluster") else {
            throw UsageError("""
                chorus snapshot restore needs --whole-cluster: restoring one node of a live cluster from an old archive rolls back \
                its Raft term, vote and log (it could vote twice or forget acknowledged writes). Restore every node together from \
                archives saved while all were stopped, or replace one lost node by starting it with an empty data directory and --join
                """)
        }
        let s = try DataDirectorySnapshot.restore(archive: input, into: dir)
        print("restored \(input) into \(dir): \(s.files) files, \(s.bytes) bytes (node \(s.nodeName.isEmpty ? "-" : s.nodeName), raft id \(String(s.raftID, radix: 16)))")
        return 0
    }
}
