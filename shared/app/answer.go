package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// Answer formats a caller can ask for with "format".
const (
	FormatJSON  = "json"  // the default: the answer's JSON object
	FormatText  = "text"  // plain text for a person
	FormatTable = "table" // nightly-cleanup's older name for "text"
)

// parseFormat checks a payload's "format" and folds "table" into "text".
func parseFormat(f string, table bool) (string, error) {
	switch {
	case f == "" || f == FormatJSON:
		return FormatJSON, nil
	case f == FormatText || (table && f == FormatTable):
		return FormatText, nil
	}
	return "", domain.Errorf(domain.KindInvalid, "decode payload", "", `format %q: want "json" or "text"`, f)
}

// answer prepares a handler's result for encoding/json: every nil list or map
// becomes empty, so a caller reads "toJoin": [] and never null where a list is
// meant. A field with omitempty stays omitted either way.
//
// A text answer is returned as a Go string. fc-runtime-go-sdk v0.3.1 encodes
// every result with json.Marshal (fc/handler.go, fcHandler.Invoke) and has no
// pass-through type (a []byte becomes base64, a json.Marshaler's output must
// be JSON), so the body is a JSON string: `localcloud invoke` prints it as
// text, `s invoke` shows it quoted.
func answer(v any) any {
	if v == nil {
		return nil
	}
	if _, ok := v.(string); ok {
		return v
	}
	cp := reflect.New(reflect.TypeOf(v)).Elem()
	cp.Set(reflect.ValueOf(v))
	fillNil(cp)
	return cp.Interface()
}

func fillNil(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fillNil(v.Elem())
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			if fv := v.Field(i); fv.CanSet() {
				fillNil(fv)
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			if v.CanSet() {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			return
		}
		for i := range v.Len() {
			fillNil(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() && v.CanSet() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	}
}

// renderPlans is queue-worker's plan answer as text: one row per instance.
func renderPlans(r PlanResult) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Membership plan, region %s (nothing was changed)\n\n", r.Region)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tROLES\tREASON\tTO JOIN\tDETAIL")
	for _, p := range r.Plans {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.InstanceID, orDash(domain.FormatRoles(p.Roles)), p.Reason,
			orDash(strings.Join(p.ToJoin, ",")), orDash(p.Detail))
	}
	if err := tw.Flush(); err != nil {
		return "", fmt.Errorf("render membership plans: %w", err)
	}
	return b.String(), nil
}

// renderWorkerSummary is queue-worker's drain answer as text.
func renderWorkerSummary(s worker.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Queue worker: %d task(s) received in %d batch(es): %d done, %d retried later, %d dead-lettered",
		s.Received, s.Batches, s.Done, s.Retried, s.DeadLetteredTotal())
	if len(s.DeadLettered) > 0 {
		reasons := make([]string, 0, len(s.DeadLettered))
		for r, n := range s.DeadLettered {
			reasons = append(reasons, fmt.Sprintf("%d %s", n, r))
		}
		sort.Strings(reasons)
		fmt.Fprintf(&b, " (%s)", strings.Join(reasons, ", "))
	}
	b.WriteString(".\n")
	if s.Stopped != "" {
		fmt.Fprintf(&b, "Stopped: %s, after %s.\n", s.Stopped, s.Duration.Round(1e6))
	}
	if n := s.DeadLetterFailed + s.DeleteErrors + s.RetryErrors; n > 0 {
		fmt.Fprintf(&b, "Problems: %d dead letter(s) not sent, %d delete error(s), %d retry error(s); see the function log.\n",
			s.DeadLetterFailed, s.DeleteErrors, s.RetryErrors)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// takeFormat removes "format" from an operator payload for instance-created,
// whose decoder (intake) refuses fields it does not know, and returns it
// checked. Events and timer payloads pass unchanged.
func takeFormat(raw []byte) ([]byte, string, error) {
	if f, err := events.Detect(raw); err != nil || f != events.FormatPayload || !bytes.Contains(raw, []byte(`"format"`)) {
		return raw, FormatJSON, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return raw, FormatJSON, nil // intake reports the malformed payload
	}
	rawFormat, ok := fields["format"]
	if !ok {
		return raw, FormatJSON, nil
	}
	var f string
	if err := json.Unmarshal(rawFormat, &f); err != nil {
		return nil, "", domain.Errorf(domain.KindInvalid, "decode payload", "", `format: want "json" or "text"`)
	}
	format, err := parseFormat(f, false)
	if err != nil {
		return nil, "", err
	}
	delete(fields, "format")
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, "", fmt.Errorf("re-encode payload without format: %w", err)
	}
	return out, format, nil
}

// renderIntakeSummary is instance-created's answer as text.
func renderIntakeSummary(s intake.Summary) string {
	var b strings.Builder
	verb := "enqueued"
	n := s.Enqueued
	if s.DryRun {
		verb, n = "would enqueue (dry run)", len(s.TaskIDs)
	}
	fmt.Fprintf(&b, "Instance intake (%s): %d received, %d accepted, %d duplicate(s); %s %d task(s).\n",
		s.Mode, s.Received, s.Accepted, s.Duplicates, verb, n)
	for _, sk := range s.Ignored {
		fmt.Fprintf(&b, "  ignored %s: %s\n", orDash(sk.InstanceID+sk.EventID), sk.Reason)
	}
	for _, sk := range s.Rejected {
		fmt.Fprintf(&b, "  rejected %s: %s\n", orDash(sk.InstanceID+sk.EventID), sk.Reason)
	}
	if r := s.Reconcile; r != nil {
		fmt.Fprintf(&b, "Region %s: %d role-tagged instance(s), %d role group(s), %d complete, %d need a person\n",
			r.RegionID, r.Instances, r.RoleGroups, r.Complete, r.NeedsAttention)
		if len(r.ByReason) > 0 {
			reasons := make([]string, 0, len(r.ByReason))
			for k, n := range r.ByReason {
				reasons = append(reasons, fmt.Sprintf("%d %s", n, k))
			}
			sort.Strings(reasons)
			fmt.Fprintf(&b, "  by reason: %s\n", strings.Join(reasons, ", "))
		}
		for _, is := range r.Attention {
			fmt.Fprintf(&b, "  %s %s: %s\n", is.InstanceID, is.Reason, is.Detail)
		}
		if r.ContinuedAs != "" {
			fmt.Fprintf(&b, "  (the first part only: the rest of the region goes on in the worker as %s)\n", r.ContinuedAs)
		}
	}
	return b.String()
}
