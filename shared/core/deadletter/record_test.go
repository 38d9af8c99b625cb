package deadletter_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
)

// xmlSafe mirrors the queue adapter's body check: what MNS can carry.
func xmlSafe(tb testing.TB, s string) {
	tb.Helper()
	if !utf8.ValidString(s) {
		tb.Fatal("record is not valid UTF-8")
	}
	for _, r := range s {
		ok := r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000
		if !ok {
			tb.Fatalf("record contains %U, which XML cannot carry", r)
		}
	}
}

// A record always fits in one MNS message, whatever the original body and
// detail hold: the worst case is a 64 KiB body of characters that JSON
// escapes to six bytes each.
func TestNew_FitsWhateverTheBody(t *testing.T) {
	const size = 64 * 1024
	tests := []struct {
		name string
		body string
	}{
		{"quotes", strings.Repeat(`"`, size)},
		{"control characters", strings.Repeat("\u0001", size)},
		{"quotes and controls", strings.Repeat("\"\u0001", size/2)},
		{"line separators", strings.Repeat("\u2028", size/3)},
		{"invalid UTF-8", strings.Repeat("\xff", size)},
		{"non-XML characters", strings.Repeat("\uFFFE", size/3)},
		{"html", strings.Repeat("<&>", size/3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := deadletter.New(deadletter.Input{
				MessageID: "M1", Body: tc.body, Reason: "invalid-task", Detail: tc.body, TaskID: tc.body,
				Subject: tc.body, Region: tc.body, FailedAt: time.Unix(1714550400, 0),
			})
			enc := rec.Encode()
			if len(enc) > deadletter.MaxRecordBytes {
				t.Fatalf("record is %d bytes, over %d", len(enc), deadletter.MaxRecordBytes)
			}
			xmlSafe(t, enc)
			var back deadletter.Record
			if err := json.Unmarshal([]byte(enc), &back); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(tc.body))
			if back.Minimal || !back.BodyTruncated || back.BodyBytes != len(tc.body) || back.BodySHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("record: minimal %v, truncated %v, %d bytes, sha %s", back.Minimal, back.BodyTruncated, back.BodyBytes, back.BodySHA256)
			}
			if back.OriginalBody == "" || !strings.HasPrefix(tc.body, back.OriginalBody) && utf8.ValidString(tc.body) && !strings.ContainsRune(tc.body, 0xFFFE) {
				t.Errorf("body prefix of %d bytes is not a prefix of the original", len(back.OriginalBody))
			}
			if back.ID != deadletter.ID("M1", tc.body) {
				t.Errorf("ID %s is not the message's", back.ID)
			}
		})
	}
}

func TestNew_WholeTaskKept(t *testing.T) {
	body := `{"v":1,"kind":"onboard","id":"x","region":"cn-hangzhou","instanceId":"i-bp1aaaaaaaaaaaaaaaa1","enqueuedAt":"2024-05-01T00:00:00Z"}`
	rec := deadletter.New(deadletter.Input{MessageID: "M", Body: body, Reason: "no-role-group"})
	if rec.OriginalBody != body || rec.BodyTruncated {
		t.Errorf("body %q (truncated %v), want the whole task", rec.OriginalBody, rec.BodyTruncated)
	}
}

func TestID_StablePerMessage(t *testing.T) {
	a, b := deadletter.ID("M1", "body"), deadletter.ID("M1", "body")
	if a != b || a == deadletter.ID("M2", "body") || a == deadletter.ID("M1", "other") || a == deadletter.ID("", "M1body") {
		t.Errorf("IDs do not follow (message, body): %s %s", a, b)
	}
}

func TestNew_OneIDPerSubjectAndReason(t *testing.T) {
	in := deadletter.Input{MessageID: "M1", Body: "a", TaskKind: "onboard", Region: "cn-hangzhou", Subject: "i-1", Reason: "no-role-group"}
	first := deadletter.New(in).ID
	in.MessageID, in.Body = "M2", "b" // another announcement of the same instance
	if got := deadletter.New(in).ID; got != first {
		t.Errorf("two refusals of one instance for one reason: IDs %s and %s, want one", first, got)
	}
	in.Reason = "over-group-limit"
	if deadletter.New(in).ID == first {
		t.Error("another reason must give another ID")
	}
	in.Reason, in.Subject = "no-role-group", "i-2"
	if deadletter.New(in).ID == first {
		t.Error("another instance must give another ID")
	}
	if got := deadletter.New(deadletter.Input{MessageID: "M1", Body: "a", Reason: "invalid-task"}).ID; got != deadletter.ID("M1", "a") {
		t.Errorf("a task that did not decode is named by its message: %s", got)
	}
}

func TestShrunk(t *testing.T) {
	rec := deadletter.New(deadletter.Input{MessageID: "M", Body: "xyz", Reason: "r", TaskID: "t", Detail: "long detail"})
	m := rec.Shrunk()
	if !m.Minimal || m.ID != rec.ID || m.Reason != "r" || m.TaskID != "t" || m.BodySHA256 != rec.BodySHA256 || m.OriginalBody != "" || m.Detail != "" {
		t.Errorf("shrunk record %+v", m)
	}
}

func TestRead_AllKinds(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	v2 := deadletter.New(deadletter.Input{MessageID: "M9", Reason: "over-group-limit", FailedAt: time.Unix(1714550400, 0),
		Body: `{"v":1,"kind":"onboard","id":"onboard:i-bp1aaaaaaaaaaaaaaaa4","region":"cn-hangzhou","instanceId":"i-bp1aaaaaaaaaaaaaaaa4","attempt":7,"enqueuedAt":"2024-05-01T00:00:00Z"}`}).Encode()
	trunc := deadletter.New(deadletter.Input{MessageID: "M8", Reason: "invalid-task", Body: strings.Repeat("\u0001", 64*1024)}).Encode()
	tests := []struct {
		name        string
		body        string
		kind        deadletter.Kind
		idPrefix    string
		reason      string
		subject     string
		replayable  bool
		instanceIDs int
	}{
		{"worker record", v2, deadletter.KindWorker, "dl-", "over-group-limit", "i-bp1aaaaaaaaaaaaaaaa4", true, 0},
		{"worker record v1", read("worker-v1.json"), deadletter.KindWorker, "dl-", "no-role-group", "i-bp1aaaaaaaaaaaaaaaa3", true, 0},
		{"truncated record", trunc, deadletter.KindWorker, "dl-", "invalid-task", "", false, 0},
		{"stream event", read("stream-event.json"), deadletter.KindStreamEvent, "ev-2f3c6a58", deadletter.ReasonStreamGaveUp, "i-bp1aaaaaaaaaaaaaaaa1", true, 0},
		{"async failure", read("async-failure.json"), deadletter.KindAsyncFailure, "fc-1-6632f0a1", "UnhandledInvocationError", "", false, 1},
		{"garbage", "not json", deadletter.KindUnknown, "msg-X", deadletter.ReasonUnreadable, "", false, 0},
		{"foreign JSON", `{"hello":"world"}`, deadletter.KindUnknown, "msg-X", deadletter.ReasonUnreadable, "", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := deadletter.Read("X", tc.body)
			if l.Kind != tc.kind || !strings.HasPrefix(l.ID, tc.idPrefix) || l.Reason != tc.reason || l.Subject != tc.subject {
				t.Errorf("letter %+v", l)
			}
			if got := l.Task != nil; got != tc.replayable || got == (l.NotReplayable != "") {
				t.Errorf("replayable %v (%q), want %v", got, l.NotReplayable, tc.replayable)
			}
			if len(l.InstanceIDs) != tc.instanceIDs {
				t.Errorf("instance IDs %v", l.InstanceIDs)
			}
		})
	}
}

// FuzzNew: whatever the body, the record fits, is XML-safe and reads back
// with the body's hash; Read never panics.
func FuzzNew(f *testing.F) {
	for _, s := range []string{"", `"`, "\u0001", "\xff\xfe", "\uFFFE", `{"v":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		enc := deadletter.New(deadletter.Input{MessageID: body, Body: body, Reason: body, Detail: body, TaskID: body}).Encode()
		if len(enc) > deadletter.MaxRecordBytes {
			t.Fatalf("record of %d bytes", len(enc))
		}
		xmlSafe(t, enc)
		l := deadletter.Read("m", enc)
		if l.Kind != deadletter.KindWorker || l.Record == nil || l.Record.BodyBytes != len(body) {
			t.Fatalf("read back %+v", l)
		}
		_ = deadletter.Read("m", body)
	})
}
