import ChorusBase
@testable import ChorusRuntime
import Foundation
import Testing
@testable import ChorusCLI

@Suite struct LockCommandTests {
    // MARK: acquire arguments

    @Test func acquire_defaultsToExclusiveForeverTenSecondTTL() throws {
        let (r, _) = try #require(try LockAcquireCommand.parse(["jobs/nightly"]))
        #expect(r == LockAcquireCommand.Request(name: "jobs/nightly"))
        #expect(r.mode == .exclusive)
        #expect(r.wait == nil)
        #expect(r.ttl == .seconds(10))
        #expect(r.command.isEmpty)
    }

    @Test func acquire_readsSharedWaitTTLJSONAndApi() throws {
        let (r, p) = try #require(try LockAcquireCommand.parse(["db", "--shared", "--wait", "2s", "--ttl=500ms", "--json", "--api", "127.0.0.1:9000"]))
        #expect(r.mode == .shared)
        #expect(r.wait == .seconds(2))
        #expect(r.ttl == .milliseconds(500))
        #expect(r.json)
        #expect(AgentClient(p, environment: [:]).address == "127.0.0.1:9000")
        #expect(try LockAcquireCommand.parse(["db", "--wait", "0"])?.0.wait == .zero)
        #expect(try LockAcquireCommand.parse(["db", "--wait", "1m"])?.0.wait == .seconds(60))
    }

    @Test func acquire_everythingAfterExecIsTheCommand_evenItsOwnFlags() throws {
        let (r, _) = try #require(try LockAcquireCommand.parse(["db", "--wait", "1s", "--exec", "pg_dump", "--json", "--wait", "x", "db"]))
        #expect(r.command == ["pg_dump", "--json", "--wait", "x", "db"])
        #expect(r.wait == .seconds(1))
        #expect(!r.json)
    }

    @Test func acquire_badArguments_areUsageErrors() {
        let bad: [[String]] = [
            [],                                   // no name
            ["a", "b"],                           // two names
            ["a", "--exec"],                      // nothing to run
            ["a", "--json", "--exec", "true"],    // JSON and a command's output
            ["a", "--wait", "soon"],              // not a duration
            ["a", "--ttl", "-1s"],
            ["a", "--ttl", "0"],
            ["a", "--mode", "shared"],            // unknown option
            ["a\u{7}"],                           // control character in the name
            [String(repeating: "x", count: 257)], // longer than 256 bytes
        ]
        for args in bad {
            #expect(throws: UsageError.self, "\(args)") { try LockAcquireCommand.parse(args) }
        }
        #expect(Chorus.main(["chorus", "lock"]) == 2)
        #expect(Chorus.main(["chorus", "lock", "steal", "x"]) == 2)
        #expect(Chorus.main(["chorus", "lock", "acquire"]) == 2)
    }

    @Test func help_isNotAnError_andListsEveryFlag() throws {
        #expect(try LockAcquireCommand.parse(["--help"]) == nil)
        #expect(try LockAcquireCommand.parse(["x", "-h"]) == nil)
        for spec in [LockAcquireCommand.spec, LockCommand.statusSpec, LockCommand.listSpec, LockBenchCommand.spec] {
            for option in spec.options { #expect(spec.helpText.contains(option.name), "\(spec.name) \(option.name)") }
            #expect(spec.helpText.contains("--api"), "\(spec.name)")
        }
        #expect(Chorus.usage.contains("lock"))
        #expect(Chorus.main(["chorus", "lock", "--help"]) == 0)
        #expect(Chorus.main(["chorus", "lock", "list", "--help"]) == 0)
        #expect(Chorus.main(["chorus", "bench", "lock", "--help"]) == 0)
    }

    @Test func unreachableAgent_exitsOneForEveryLockCommand() {
        let api = ["--api", "127.0.0.1:1"]
        #expect(Chorus.main(["chorus", "lock", "status", "x"] + api) == 1)
        #expect(Chorus.main(["chorus", "lock", "list"] + api) == 1)
        #expect(Chorus.main(["chorus", "lock", "acquire", "x", "--wait", "1s"] + api) == 1)
        #expect(Chorus.main(["chorus", "bench", "lock", "--duration", "1s"] + api) == 1)
    }

    // MARK: status and list arguments

    @Test func statusAndList_readNameAndPrefix() throws {
        #expect(try LockCommand.parseStatus(["jobs/a", "--json"])?.name == "jobs/a")
        #expect(try LockCommand.parseList([])?.prefix == "")
        #expect(try LockCommand.parseList(["jobs/"])?.prefix == "jobs/")
        #expect(throws: UsageError.self) { try LockCommand.parseStatus([]) }
        #expect(throws: UsageError.self) { try LockCommand.parseStatus(["a", "b"]) }
        #expect(throws: UsageError.self) { try LockCommand.parseList(["a", "b"]) }
        #expect(throws: UsageError.self) { try LockCommand.parseList(["--shared"]) }
    }

    // MARK: bench arguments

    @Test func bench_defaultsAndFlags() throws {
        let d = try #require(try LockBenchCommand.parse([], environment: [:]))
        #expect(d == LockBenchCommand.Settings())
        #expect(d.system == "chorus" && d.mode == "uncontended")
        let s = try #require(try LockBenchCommand.parse(["--clients", "32", "--duration", "5s", "--warmup", "0", "--contended", "--json",
                                                         "--api", "127.0.0.1:7001,127.0.0.1:7002"], environment: [:]))
        #expect(s.clients == 32)
        #expect(s.duration == .seconds(5))
        #expect(s.warmup == .zero)
        #expect(s.contended && s.json && s.mode == "contended")
        #expect(s.apis == ["127.0.0.1:7001", "127.0.0.1:7002"])
        let env = try #require(try LockBenchCommand.parse([], environment: ["CHORUS_API": "127.0.0.1:9"]))
        #expect(env.apis == ["127.0.0.1:9"])
    }

    @Test func bench_etcdEndpointsAreURLsOrHostPorts() throws {
        let s = try #require(try LockBenchCommand.parse(["--etcd", "http://127.0.0.1:2379,http://127.0.0.1:22379/,127.0.0.1:32379"], environment: [:]))
        #expect(s.etcd == ["127.0.0.1:2379", "127.0.0.1:22379", "127.0.0.1:32379"])
        #expect(s.system == "etcd")
        for bad in ["https://127.0.0.1:2379", "http://127.0.0.1", "http://127.0.0.1:2379/v3", "a,,b", "http://h:99999"] {
            #expect(throws: UsageError.self, "\(bad)") { try LockBenchCommand.parse(["--etcd", bad], environment: [:]) }
        }
    }

    @Test func bench_badArguments_areUsageErrors() {
        let bad: [[String]] = [
            ["--clients", "0"], ["--clients", "2000"], ["--clients", "x"],
            ["--duration", "0"], ["--duration", "soon"], ["extra"],
            ["--api", "a:1", "--etcd", "http://b:2"], ["--api", ","],
        ]
        for args in bad {
            #expect(throws: UsageError.self, "\(args)") { try LockBenchCommand.parse(args, environment: [:]) }
        }
    }

    // MARK: rendering

    static let statusJSON = """
        {"name":"jobs/nightly","holders":[{"session":"3-17-1700000000000","mode":"shared","token":41},
         {"session":"9-2-1700000000500","mode":"shared","token":44}],
         "waiters":[{"session":"5-8-1700000001000","mode":"exclusive","request_id":"acq-1"}]}
        """

    @Test func statusTable_listsHoldersThenWaitersInQueueOrder() throws {
        let view = try JSONDecoder().decode(LockView.self, from: Data(Self.statusJSON.utf8))
        #expect(LockCommand.statusText(view) == """
            jobs/nightly: 2 holders, 1 waiter
            ROLE      SESSION             MODE       TOKEN  REQUEST
            holder    3-17-1700000000000  shared     41     -
            holder    9-2-1700000000500   shared     44     -
            waiter 1  5-8-1700000001000   exclusive  -      acq-1
            """)
        let free = LockView(name: "idle", holders: [], waiters: [])
        #expect(LockCommand.statusText(free) == "idle: free")
    }

    @Test func statusJSON_roundTripsTheAgentsAnswer() throws {
        let view = try JSONDecoder().decode(LockView.self, from: Data(Self.statusJSON.utf8))
        let text = try LockCommand.json(view)
        #expect(text == #"{"holders":[{"mode":"shared","session":"3-17-1700000000000","token":41},{"mode":"shared","session":"9-2-1700000000500","token":44}],"# +
                #""name":"jobs/nightly","waiters":[{"mode":"exclusive","request_id":"acq-1","session":"5-8-1700000001000"}]}"#)
        #expect(try JSONDecoder().decode(LockView.self, from: Data(text.utf8)) == view)
    }

    @Test func listTable_summarizesEachLock() throws {
        let json = """
            [{"name":"a","holders":[{"session":"1-1-1","mode":"exclusive","token":7}],"waiters":[{"session":"1-2-2","mode":"shared"}]},
             {"name":"b/c","holders":[],"waiters":[{"session":"1-3-3","mode":"exclusive","request_id":"r"}]},
             {"name":"d","holders":[{"session":"1-4-4","mode":"shared","token":3},{"session":"1-5-5","mode":"shared","token":9}],"waiters":[]}]
            """
        let views = try JSONDecoder().decode([LockView].self, from: Data(json.utf8))
        #expect(views[0].waiters[0].requestID == nil)
        #expect(LockCommand.listText(views) == """
            NAME  MODE       HOLDERS  WAITERS  TOKEN
            a     exclusive  1        1        7
            b/c   -          0        1        -
            d     shared     2        0        9
            3 locks
            """)
        #expect(LockCommand.listText([]) == "NAME  MODE  HOLDERS  WAITERS  TOKEN\n0 locks")
        let again = try JSONDecoder().decode([LockView].self, from: Data(try LockCommand.json(views).utf8))
        #expect(again == views)
    }

    @Test func grantLine_isTheTokenOrOneJSONObject() {
        let grant = LockGrant(name: "jobs/a", mode: "exclusive", token: 1234)
        #expect(LockAcquireCommand.grantLine(grant, session: "0-5-17", json: false) == "1234")
        #expect(LockAcquireCommand.grantLine(grant, session: "0-5-17", json: true)
                == #"{"mode":"exclusive","name":"jobs/a","session":"0-5-17","token":1234}"#)
    }

    @Test func refusals_explainTheContractsCodes() {
        let r = { (code: String) in LockRefusal(status: 409, code: code, message: "m") }
        #expect(AcquireWaiter.explain(r("timeout"), wait: .seconds(2)) == "not granted within 2s (timeout)")
        #expect(AcquireWaiter.explain(r("deadlock"), wait: nil).hasSuffix("(deadlock)"))
        #expect(AcquireWaiter.explain(r("session_expired"), wait: nil).hasSuffix("(session_expired)"))
        #expect(AcquireWaiter.explain(r("invalid"), wait: nil) == "the agent refused the acquire: m (invalid)")
    }

    @Test func answers_areFinalOnlyFor4xxOtherThanRedirectsAndOverload() {
        func answer(_ status: Int, _ body: String = #"{"error":{"code":"c","message":"m"}}"#) -> LockAnswer {
            LockAnswer.classify(HTTPClientResponse(status: status, headers: HTTPHeaders(), body: Array(body.utf8)))
        }
        if case .ok = answer(200, "{}") {} else { Issue.record("200 is ok") }
        if case let .refused(r) = answer(409) { #expect(r == LockRefusal(status: 409, code: "c", message: "m")) } else { Issue.record("409") }
        if case let .refused(r) = answer(404, "nope") { #expect(r.code == "http_404") } else { Issue.record("404") }
        for status in [421, 429, 408, 500, 503] {
            if case .unsettled = answer(status) {} else { Issue.record("\(status) must be retried") }
        }
    }

    @Test func lockPaths_percentEncodeEverythingButUnreservedBytes() {
        #expect(LockAPI.lockPath("jobs/nightly run", "acquire") == "/v1/locks/jobs%2Fnightly%20run/acquire")
        #expect(LockAPI.lockPath("a-b_c.d~e") == "/v1/locks/a-b_c.d~e")
        #expect(LockAPI.percentEncoded("é?%") == "%C3%A9%3F%25")
    }

    @Test func childStatus_isTheShellsConvention() {
        #expect(ChildProcess.shellStatus(0) == 0)
        #expect(ChildProcess.shellStatus(3 << 8) == 3)
        #expect(ChildProcess.shellStatus(9) == 137)  // killed by SIGKILL
    }

    // MARK: bench routing and reports

    @Test func routes_sendEachNameToItsShardLeadersApi() throws {
        let shards = (0..<4).map { i in
            ShardView(shard: i, replicas: ["n1", "n2", "n3"], learners: [], leader: i == 3 ? nil : "n\(i % 3 + 1)", term: 1,
                      commitIndex: 1, appliedIndex: 1, reportedBy: nil)
        }
        let member = { (name: String, api: String, status: String) in
            MemberView(name: name, address: "127.0.0.1:1", status: status, incarnation: 0, tags: ["chorus.api": api], phi: 0,
                       lastChange: "", secondsSinceChange: 0, local: false)
        }
        let members = [member("n1", "127.0.0.1:7001", "alive"), member("n2", "127.0.0.1:7002", "alive"), member("n3", "127.0.0.1:7003", "dead")]
        let table = ShardRoutes.table(shards: shards, members: members)
        #expect(table == ShardRoutes.Table(shardCount: 4, leaders: ["127.0.0.1:7001", "127.0.0.1:7002", nil, nil]))
    }

    @Test func benchReports_textAndJSON() throws {
        let s = LockBenchCommand.Settings(clients: 8, contended: true, etcd: ["127.0.0.1:2379"])
        var r = LockBenchCommand.Result(seconds: 2, pairs: 4, retries: 1, acquireMillis: [1, 2, 3, 10], releaseMillis: [0.5, 0.5, 0.5, 0.7])
        for _ in 0..<4 { r.acquires.succeeded() }
        r.acquires.failed(.timeout)
        r.releases.failed(.connection)
        #expect(LockBenchCommand.report(text: r, s) ==
                "etcd clients=8 contended: 2 pairs/s, acquire mean 4.000 p50 2.000 p95 10.000 p99 10.000 ms, "
                + "release mean 0.550 p50 0.500 p95 0.700 p99 0.700 ms, success 80.00 % (4 of 5 acquires; failed: timeout 1) "
                + "(4 pairs in 2.0 s, 1 retries)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try LockBenchCommand.report(json: r, s).utf8)) as? [String: Any])
        #expect(object["system"] as? String == "etcd")
        #expect(object["mode"] as? String == "contended")
        #expect(object["clients"] as? Int == 8)
        #expect(object["pairs_per_second"] as? Double == 2)
        #expect(object["acquire_p99_ms"] as? Double == 10)
        #expect(object["release_p50_ms"] as? Double == 0.5)
        #expect(object["acquire_mean_ms"] as? Double == 4)
        #expect(object["acquire_p95_ms"] as? Double == 10)
        #expect(object["release_mean_ms"] as? Double == 0.55)
        #expect(object["success_rate"] as? Double == 0.8)
        #expect(object["acquire_attempts"] as? Int == 5)
        #expect(object["acquire_failures"] as? [String: Int] == ["timeout": 1])
        #expect(object["release_failures"] as? [String: Int] == ["connection": 1])
        #expect(LockBenchCommand.latencyCSV(r).split(separator: "\n").prefix(3) == ["operation,ms", "acquire,1.0000", "acquire,2.0000"])
        let empty = try LockBenchCommand.report(json: LockBenchCommand.Result(seconds: 1), s)
        #expect(empty.contains(#""acquire_p50_ms":null"#) && empty.contains(#""success_rate":null"#))
    }
}
