package intake

import "github.com/sgpilot/sgpilot/shared/core/domain"

// Modes name what an invocation did.
const (
	ModeEvent     = "event"     // EventBridge ECS events
	ModeEnqueue   = "enqueue"   // operator payload listing instance IDs
	ModeReconcile = "reconcile" // backfill of one region
)

// Decisions written to the log's decision field.
const (
	DecisionEnqueue   = "enqueue"
	DecisionWould     = "would-enqueue" // dry run
	DecisionIgnore    = "ignore"
	DecisionReject    = "reject"
	DecisionDuplicate = "duplicate"
	DecisionSkip      = "skip"      // reconcile: nothing to do
	DecisionAttention = "attention" // reconcile: needs a human
)

// Skip is one input that produced no task, and why.
type Skip struct {
	EventID    string `json:"eventId,omitempty"`
	InstanceID string `json:"instanceId,omitempty"`
	Reason     string `json:"reason"`
}

// Summary is what HandleEvent returns, and what the function returns to its
// caller (FC logs it, `s invoke` prints it). It is JSON-serialisable.
type Summary struct {
	Mode   string `json:"mode"`
	DryRun bool   `json:"dryRun,omitempty"`
	// Received counts inputs: envelopes of a delivery, or 1 for a payload.
	Received int `json:"received"`
	// Accepted counts inputs that produced tasks (or would have).
	Accepted int    `json:"accepted"`
	Ignored  []Skip `json:"ignored,omitempty"`
	Rejected []Skip `json:"rejected,omitempty"`
	// Enqueued counts tasks the sender accepted (0 on a dry run or a
	// failed send).
	Enqueued int `json:"enqueued"`
	// Duplicates counts instances named again within the same delivery.
	Duplicates int `json:"duplicates"`
	// TaskIDs are the tasks built, in order: sent, or on a dry run the
	// ones that would be.
	TaskIDs []string `json:"taskIds,omitempty"`
	// Tasks are the tasks that would be sent (dry run only).
	Tasks []domain.Task `json:"tasks,omitempty"`
	// Reconcile is the backfill's own summary (ModeReconcile only).
	Reconcile *ReconcileSummary `json:"reconcile,omitempty"`
}
