// Package notify decides which run reports need a person and sends those
// to an operator topic. The decision is pure (Assess, Decide); sending goes
// through a Publisher port (the MNS topic adapter in the cloud).
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/sgpilot/sgpilot/shared/core/runreport"
)

// Tags of published messages. A subscription's FilterTag can pick one:
// "attention" for the runs that need a person, "digest" for quiet runs.
const (
	TagAttention = "attention"
	TagDigest    = "digest"
)

// Withheld reasons that mean deletions a safety limit kept back (the
// cleanup's blast-radius rule).
var deletionLimits = map[string]bool{"blast-radius": true}

// Assess returns why a person should look at r, in a fixed order; nil for
// a quiet run. It reads only the report's counts and failed regions:
//
//   - any dead letter                        -> dead-letters
//   - deletions withheld by the blast radius -> deletions-withheld
//   - other changes withheld by a limit      -> changes-withheld
//   - an audit finding of high severity      -> audit-high-severity
//   - drift repaired (roles apply, reconcile) -> drift-repaired
//   - a region whose discovery or run failed -> region-failed
func Assess(r runreport.Report) []runreport.Attention {
	var out []runreport.Attention
	c := r.Counts
	if n := runreport.Total(c.DeadLettered); n > 0 {
		out = append(out, runreport.Attention{Reason: runreport.AttentionDeadLetters,
			Detail: fmt.Sprintf("%d task(s) dead-lettered (%s); they expire after the queue's retention", n, byReason(c.DeadLettered))})
	}
	del, other := map[string]int{}, map[string]int{}
	for reason, n := range c.Withheld {
		if n <= 0 {
			continue
		}
		if deletionLimits[reason] {
			del[reason] = n
		} else {
			other[reason] = n
		}
	}
	if n := runreport.Total(del); n > 0 {
		out = append(out, runreport.Attention{Reason: runreport.AttentionWithheld,
			Detail: fmt.Sprintf("%d deletion(s) withheld (%s); they stay withheld every night until the plan is approved ({\"mode\":\"apply\",\"approve\":\"<planId>\"}, the ID the cleanup plan shows), the limit is raised or the groups are dealt with", n, byReason(del))})
	}
	if n := runreport.Total(other); n > 0 {
		out = append(out, runreport.Attention{Reason: runreport.AttentionChangesWithheld,
			Detail: fmt.Sprintf("%d change(s) withheld (%s)", n, byReason(other))})
	}
	if n := c.Findings["high"]; n > 0 {
		out = append(out, runreport.Attention{Reason: runreport.AttentionHighFindings,
			Detail: fmt.Sprintf("%d high-severity rule finding(s)", n)})
	}
	if c.Repaired > 0 {
		out = append(out, runreport.Attention{Reason: runreport.AttentionDriftRepaired,
			Detail: fmt.Sprintf("%d drifted item(s) repaired", c.Repaired)})
	}
	if len(r.FailedRegions) > 0 {
		out = append(out, runreport.Attention{Reason: runreport.AttentionRegionFailed,
			Detail: "regions failed: " + strings.Join(r.FailedRegions, ", ")})
	}
	return out
}

func byReason(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// Decision says whether and how a report is published.
type Decision struct {
	Publish bool
	Tag     string
}

// Decide returns whether r is published: always when it needs attention;
// a quiet run only as a digest, and only when digests are on and the run is
// a scheduled one (a cleanup night), so a push batch of onboarding does not
// flood the topic.
func Decide(r runreport.Report, digest bool) Decision {
	if len(r.NeedsAttention) > 0 {
		return Decision{Publish: true, Tag: TagAttention}
	}
	if digest && r.Kind == runreport.KindCleanup && r.Mode == "apply" {
		return Decision{Publish: true, Tag: TagDigest}
	}
	return Decision{}
}

// Message is the body published to the topic: a line a person can read
// (what an email or a chat robot shows) and the full report.
type Message struct {
	Subject string           `json:"subject"`
	Text    string           `json:"text"`
	Report  runreport.Report `json:"report"`
}

// Compose builds the message of r.
func Compose(r runreport.Report, tag string) Message {
	subject := fmt.Sprintf("sgpilot %s %s: ", r.Kind, r.Function)
	if tag == TagDigest {
		subject += "quiet run"
	} else {
		reasons := make([]string, len(r.NeedsAttention))
		for i, a := range r.NeedsAttention {
			reasons[i] = a.Reason
		}
		subject += "needs attention (" + strings.Join(reasons, ", ") + ")"
	}
	var b strings.Builder
	b.WriteString(subject)
	fmt.Fprintf(&b, "\nrun %s, regions %s, %d ms\n", r.RunID, strings.Join(r.Regions, ","), r.DurationMS)
	for _, a := range r.NeedsAttention {
		fmt.Fprintf(&b, "- %s: %s\n", a.Reason, a.Detail)
	}
	return Message{Subject: subject, Text: b.String(), Report: r}
}

// Publisher sends one message to the operators' topic.
type Publisher interface {
	Publish(ctx context.Context, tag, body string) error
}

// Notifier publishes the reports that Decide selects.
type Notifier struct {
	Topic  Publisher
	Digest bool
}

// Notify publishes r when it should be; it reports whether it did. A nil
// Notifier or topic publishes nothing.
func (n *Notifier) Notify(ctx context.Context, r runreport.Report) (bool, error) {
	if n == nil || n.Topic == nil {
		return false, nil
	}
	d := Decide(r, n.Digest)
	if !d.Publish {
		return false, nil
	}
	body, err := json.Marshal(Compose(r, d.Tag))
	if err != nil {
		return false, fmt.Errorf("encode notification of run %s: %w", r.RunID, err)
	}
	if err := n.Topic.Publish(ctx, d.Tag, string(body)); err != nil {
		return false, fmt.Errorf("publish notification of run %s: %w", r.RunID, err)
	}
	return true, nil
}
