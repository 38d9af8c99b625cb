package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// A deletion plan ID names exactly the deletions a region's plan would make:
// "<region>:<count>:<hash>", the hash being the first 16 hex digits of the
// SHA-256 of the region and each group to delete with its stale mark, sorted
// by group ID. The region and the count are in clear so that a refused
// approval can say what changed; the hash pins the set of groups and marks.
// It is not a secret or a signature: whoever may invoke the cleanup may
// approve; the ID only makes sure the approval covers the plan that person
// reviewed and nothing else.

// ApprovalStatus says what an approval did to a region's plan.
type ApprovalStatus string

const (
	// ApprovalUsed: the plan matched and its deletions went beyond the
	// blast-radius limit.
	ApprovalUsed ApprovalStatus = "approved"
	// ApprovalNotNeeded: the plan matched and was within the limit anyway.
	ApprovalNotNeeded ApprovalStatus = "not-needed"
	// ApprovalRefused: the plan is no longer the approved one; nothing in
	// the region changes.
	ApprovalRefused ApprovalStatus = "refused"
)

// ReasonApprovalRefused keeps every group of a region whose approval no
// longer matches its plan.
const ReasonApprovalRefused Reason = "approval-refused"

// DeletionPlanID returns the ID of a region's deletions ("" when there are
// none). groupMarks maps each group to delete to its stale mark.
func DeletionPlanID(region string, groupMarks map[string]string) string {
	if len(groupMarks) == 0 {
		return ""
	}
	ids := make([]string, 0, len(groupMarks))
	for id := range groupMarks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	h := sha256.New()
	fmt.Fprintf(h, "sgpilot deletion plan v1\n%s\n", region)
	for _, id := range ids {
		fmt.Fprintf(h, "%s=%s\n", id, groupMarks[id])
	}
	return fmt.Sprintf("%s:%d:%s", region, len(ids), hex.EncodeToString(h.Sum(nil))[:16])
}

// ParsedPlanID is a deletion plan ID taken apart.
type ParsedPlanID struct {
	Region string
	Count  int
	Hash   string
}

// ParsePlanID reads a deletion plan ID; a malformed one is KindInvalid.
func ParsePlanID(s string) (ParsedPlanID, error) {
	bad := func(why string) (ParsedPlanID, error) {
		return ParsedPlanID{}, Errorf(KindInvalid, "parse plan ID", "", "%q: %s; want <region>:<deletions>:<16 hex digits> as a plan shows it", s, why)
	}
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 3 {
		return bad("not three parts")
	}
	if !ValidRegionID(parts[0]) {
		return bad("no region")
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 1 {
		return bad("no deletion count")
	}
	if len(parts[2]) != 16 {
		return bad("the hash is not 16 hex digits")
	}
	if _, err := hex.DecodeString(parts[2]); err != nil {
		return bad("the hash is not 16 hex digits")
	}
	return ParsedPlanID{Region: parts[0], Count: n, Hash: parts[2]}, nil
}

// deletionPlanID is the ID of the deletions among a plan's decisions.
func deletionPlanID(plan RegionPlan) string {
	marks := map[string]string{}
	for _, d := range plan.Decisions {
		if d.Action == ActionDelete {
			marks[d.Group.ID] = d.StaleSince
		}
	}
	return DeletionPlanID(plan.RegionID, marks)
}

// approvalMismatch says how the current plan differs from an approved one.
func approvalMismatch(approved, current string) string {
	a, err := ParsePlanID(approved)
	if err != nil {
		return err.Error()
	}
	switch n := currentCount(current); {
	case current == "":
		return fmt.Sprintf("approved plan %s deleted %d group(s); the plan now deletes none", approved, a.Count)
	case n != a.Count:
		return fmt.Sprintf("approved plan %s deleted %d group(s); the plan is now %s and deletes %d", approved, a.Count, current, n)
	default:
		return fmt.Sprintf("approved plan %s and the current plan %s both delete %d group(s), but not the same groups or not with the same stale marks", approved, current, n)
	}
}

func currentCount(id string) int {
	p, err := ParsePlanID(id)
	if err != nil {
		return 0
	}
	return p.Count
}

// applyApproval decides a region's plan under policy.ApprovedPlanID, when
// the approval names this region: it lifts the blast-radius limit when the
// plan is exactly the approved one, and withholds every change otherwise.
// It reports whether the limit may be skipped.
func applyApproval(plan *RegionPlan, policy CleanupPolicy, overLimit string) (lifted bool) {
	a := policy.ApprovedPlanID
	if a == "" {
		return false
	}
	p, err := ParsePlanID(a)
	if err != nil || p.Region != plan.RegionID {
		return false // an approval of another region changes nothing here
	}
	if plan.PlanID != a {
		plan.Approval = ApprovalRefused
		plan.ApprovalDetail = approvalMismatch(a, plan.PlanID) + "; nothing changed in this region: review the new plan and approve its ID"
		plan.Blocked = "approval refused: " + plan.ApprovalDetail
		withhold(plan, policy.StaleTagKey, ReasonApprovalRefused, true)
		return false
	}
	if overLimit == "" {
		plan.Approval, plan.ApprovalDetail = ApprovalNotNeeded, "the plan is within the blast-radius limit"
		return false
	}
	plan.Approval = ApprovalUsed
	plan.ApprovalDetail = "approved beyond the blast-radius limit (" + overLimit + ")"
	return true
}
