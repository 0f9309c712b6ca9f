import ChorusRaft
import ChorusShards
import XCTest

/// One case per rule in `Rebalancer`'s doc comment (Raft dissertation §4.1–4.3).
final class RebalancerTests: XCTestCase {
    private let commit = LogIndex(20)

    /// The leader's view: `behind` members match below the commit index, `silent` ones have
    /// not answered recently, `matches` overrides a member's match; everyone else is caught up.
    private func next(voters: [UInt64], learners: [UInt64] = [], leader: UInt64 = 1, target: [UInt64],
                      behind: [UInt64] = [], silent: [UInt64] = [], matches: [UInt64: UInt64] = [:]) -> Rebalancer.Step? {
        let c = Configuration(voters: voters.map(NodeID.init), learners: learners.map(NodeID.init))
        let commit = self.commit
        return Rebalancer.next(configuration: c, leader: NodeID(leader), target: target.map(NodeID.init), commit: commit) { id in
            guard c.contains(id) else { return nil }
            let match = matches[id.value].map(LogIndex.init) ?? (behind.contains(id.value) ? LogIndex(commit.value - 5) : commit)
            return Rebalancer.Follower(match: match, recentlyActive: !silent.contains(id.value))
        }
    }

    // MARK: rule 1

    func testLearnerNotInTarget_isRemovedBeforeAnythingElse() {
        // A caught-up target learner (rule 2) and a missing target (rule 3) wait for the stray.
        XCTAssertEqual(next(voters: [1, 2], learners: [3, 7], target: [1, 2, 3, 4]), .remove(NodeID(7)))
    }

    func testSeveralStrayLearners_smallestIdIsRemovedFirst() {
        XCTAssertEqual(next(voters: [1], learners: [8, 9], target: [1]), .remove(NodeID(8)))
    }

    // MARK: rule 2

    func testTargetLearnerCaughtUpAndActive_isPromoted() {
        XCTAssertEqual(next(voters: [1, 2], learners: [3], target: [1, 2, 3]), .promote(NodeID(3)))
    }

    func testTargetLearnerBehindCommit_isNotPromoted_andNothingElseHappens() {
        // Rule 3 waits for the pending learner; rule 4 waits until every target member votes.
        XCTAssertNil(next(voters: [1, 2, 9], learners: [3], target: [1, 2, 3, 4], behind: [3]))
    }

    func testTargetLearnerNotRecentlyActive_isNotPromoted() {
        XCTAssertNil(next(voters: [1, 2], learners: [3], target: [1, 2, 3], silent: [3]))
    }

    func testTargetLearnerTheLeaderKnowsNothingOf_isNotPromoted() {
        let c = Configuration(voters: [NodeID(1)], learners: [NodeID(2)])
        XCTAssertNil(Rebalancer.next(configuration: c, leader: NodeID(1), target: [NodeID(1), NodeID(2)], commit: commit) { _ in nil })
    }

    // MARK: rule 3

    func testMissingTargetMember_isAddedAsLearner_firstInTargetOrder() {
        XCTAssertEqual(next(voters: [1], target: [1, 5, 4]), .addLearner(NodeID(5)))
    }

    func testMissingTargetMember_isNotAddedWhileAnotherLearnerIsPending() {
        XCTAssertNil(next(voters: [1], learners: [4], target: [1, 4, 5], behind: [4]))
    }

    // MARK: rule 4

    func testExtraVoter_isNotRemovedUntilEveryTargetMemberVotes() {
        // 4 is a caught-up learner of the target: it is promoted; 9 stays.
        XCTAssertEqual(next(voters: [1, 2, 9], learners: [4], target: [1, 2, 4]), .promote(NodeID(4)))
        // 4 is behind: nothing happens, 9 is still not removed.
        XCTAssertNil(next(voters: [1, 2, 9], learners: [4], target: [1, 2, 4], behind: [4]))
    }

    func testExtraVoter_isRemovedOnceEveryTargetMemberVotes() {
        XCTAssertEqual(next(voters: [1, 2, 4, 9], target: [1, 2, 4]), .remove(NodeID(9)))
    }

    func testLeaderNotInTarget_transfersToMostUpToDateCaughtUpTargetVoter() {
        // 2 and 4 both caught up; 4 holds more of the log. 3 is further ahead but silent.
        let step = next(voters: [1, 2, 3, 4], target: [2, 3, 4], silent: [3], matches: [2: 20, 3: 30, 4: 25])
        XCTAssertEqual(step, .transferLeadership(to: NodeID(4)))
    }

    func testLeaderNotInTarget_tieOnMatch_transfersToSmallestId() {
        XCTAssertEqual(next(voters: [1, 2, 3, 4], target: [4, 3, 2]), .transferLeadership(to: NodeID(2)))
    }

    func testLeaderNotInTarget_noCaughtUpTargetVoter_waits_andRemovesNobody() {
        XCTAssertNil(next(voters: [1, 2, 3, 9], target: [2, 3, 9], behind: [2], silent: [3, 9]))
    }

    func testLeaderNotInTarget_isNeverRemovedByItself() {
        // Even with every other member placed and a quorum left, the leader hands over first.
        XCTAssertEqual(next(voters: [1, 2, 3, 4], target: [2, 3, 4]), .transferLeadership(to: NodeID(2)))
    }

    func testExtraVoterRemoval_refusedWhenRemainingCaughtUpVotersBelowQuorum() {
        // Remaining {1,2,3,4}: quorum 3, caught up only 1 (leader) and 2.
        XCTAssertNil(next(voters: [1, 2, 3, 4, 9], target: [1, 2, 3, 4], behind: [3], silent: [4]))
    }

    func testExtraVoterRemoval_allowedWhenRemainingCaughtUpVotersHoldQuorum() {
        // Remaining {1,2,3,4}: quorum 3, caught up 1, 2, 3; the extra itself may be dead.
        XCTAssertEqual(next(voters: [1, 2, 3, 4, 9], target: [1, 2, 3, 4], silent: [4, 9]), .remove(NodeID(9)))
    }

    func testSeveralExtraVoters_smallestIdIsRemovedFirst() {
        XCTAssertEqual(next(voters: [1, 2, 3, 7, 8], target: [1, 2, 3]), .remove(NodeID(7)))
    }

    // MARK: nothing to do

    func testConfigurationEqualToTarget_ledByItsPrimary_noStep() {
        XCTAssertNil(next(voters: [1, 2, 3], target: [1, 3, 2]))
        XCTAssertNil(next(voters: [1, 2, 3], target: [1, 2, 3], behind: [2, 3], silent: [2, 3]))
    }

    // MARK: rule 4c

    func testConfigurationEqualToTarget_leadershipGoesToThePrimary_whenItIsCaughtUp() {
        XCTAssertEqual(next(voters: [1, 2, 3], target: [3, 1, 2]), .transferLeadership(to: NodeID(3)))
        XCTAssertNil(next(voters: [1, 2, 3], target: [3, 1, 2], behind: [3]), "a primary behind the commit index waits")
        XCTAssertNil(next(voters: [1, 2, 3], target: [3, 1, 2], silent: [3]), "a silent primary is not given leadership")
        XCTAssertEqual(next(voters: [1, 2, 3, 4], target: [3, 1, 2], silent: [4]), .remove(NodeID(4)),
                       "the extra voter goes first: leadership moves only once the group is exactly its target")
    }

    func testEmptyTarget_noStep() {
        XCTAssertNil(next(voters: [1, 2, 3], learners: [4], target: []))
    }
}
