package deadletters

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// RenderText writes res for a person reading `s invoke` output: counts
// first, then one line per letter (show: every field, and the raw body).
func RenderText(w io.Writer, res Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "dead letters: %d letter(s) in %d message(s) read", res.Letters, res.Read)
	if res.Copies > 0 {
		fmt.Fprintf(&b, ", %d duplicate cop(ies)", res.Copies)
	}
	if res.Limited {
		b.WriteString(" (limit reached: more may be queued)")
	}
	b.WriteString("\n")
	for _, c := range []struct {
		title string
		m     map[string]int
	}{{"queue", res.ByQueue}, {"kind", res.ByKind}, {"reason", res.ByReason}, {"age", res.ByAge}} {
		if len(c.m) == 0 {
			continue
		}
		parts := make([]string, 0, len(c.m))
		for _, k := range sortedKeys(c.m) {
			parts = append(parts, fmt.Sprintf("%s %d", k, c.m[k]))
		}
		fmt.Fprintf(&b, "  by %-7s %s\n", c.title+":", strings.Join(parts, ", "))
	}
	switch res.Action {
	case ActionReplay:
		fmt.Fprintf(&b, "replayed %d onto the work queue (attempt 1)\n", res.Replayed)
	case ActionPurge:
		fmt.Fprintf(&b, "purged %d\n", res.Purged)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(&b, "  skipped %s: %s\n", s.ID, s.Why)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if len(res.Entries) == 0 {
		if res.Action != ActionList {
			_, err := io.WriteString(w, "no letter matches the selection\n")
			return err
		}
		return nil
	}
	if res.Action == ActionShow {
		return renderShow(w, res.Entries)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUE\tKIND\tREASON\tSUBJECT\tTASK\tFAILED\tREPLAY")
	for _, e := range res.Entries {
		replay := "yes"
		if e.Task == nil {
			replay = "no"
		}
		subject := e.Subject
		if subject == "" && len(e.InstanceIDs) > 0 {
			subject = strings.Join(e.InstanceIDs, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Queue, e.Kind, e.Reason, dash(subject), dash(e.TaskID),
			when(e), replay)
	}
	return tw.Flush()
}

func renderShow(w io.Writer, entries []Entry) error {
	for _, e := range entries {
		var b strings.Builder
		fmt.Fprintf(&b, "\n%s (%s, queue %s, message %s", e.ID, e.Kind, e.Queue, e.MessageID)
		if e.Copies > 1 {
			fmt.Fprintf(&b, ", %d copies", e.Copies)
		}
		b.WriteString(")\n")
		line := func(k, v string) {
			if v != "" {
				fmt.Fprintf(&b, "  %-10s %s\n", k+":", v)
			}
		}
		line("reason", e.Reason)
		line("detail", e.Detail)
		line("failed", when(e))
		line("task", e.TaskID)
		line("subject", e.Subject)
		line("region", e.Region)
		line("function", e.Function)
		line("instances", strings.Join(e.InstanceIDs, ", "))
		if e.Record != nil {
			line("body", fmt.Sprintf("%d bytes, sha256 %s, truncated %v, minimal %v", e.Record.BodyBytes, e.Record.BodySHA256,
				e.Record.BodyTruncated, e.Record.Minimal))
		}
		if e.NotReplayable != "" {
			line("replay", "no: "+e.NotReplayable)
		} else {
			line("replay", "yes")
		}
		line("raw", e.Raw)
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}

func when(e Entry) string {
	at := e.At
	if at.IsZero() {
		at = e.EnqueuedAt
	}
	if at.IsZero() {
		return "-"
	}
	return at.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
