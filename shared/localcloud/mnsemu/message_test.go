package mnsemu_test

import (
	"crypto/md5"
	"fmt"
	"strings"
	"testing"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"
	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

func TestMessage_SendReceiveDelete(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	f.env.Clock.Freeze()
	q := f.mustCreateQueue(t, "jobs")
	body := `{"instanceId":"i-bp1aaaaaaaaaaaaaaaa1"}&<tag>`
	sent := mustSend(t, q, body)
	if len(sent.MessageId) != 32 || sent.MessageBodyMD5 != fmt.Sprintf("%X", md5.Sum([]byte(body))) {
		t.Fatalf("SendMessage = %+v", sent)
	}
	if sent.RequestId == "" {
		t.Fatalf("SendMessage has no RequestId (x-mns-request-id)")
	}

	now := f.env.Clock.Now().UnixMilli()
	got := mustReceive(t, q)
	want := ali_mns.MessageReceiveResponse{
		MessageId:        sent.MessageId,
		MessageBodyMD5:   sent.MessageBodyMD5,
		MessageBody:      body,
		EnqueueTime:      now,
		FirstDequeueTime: now,
		NextVisibleTime:  now + 30_000,
		DequeueCount:     1,
		Priority:         8,
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		s := p.String()
		return s == "MessageResponse" || s == "ReceiptHandle"
	}, cmp.Ignore())
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Fatalf("ReceiveMessage (-want +got):\n%s", diff)
	}
	if got.ReceiptHandle == "" {
		t.Fatal("ReceiveMessage: empty ReceiptHandle")
	}
	if err := q.DeleteMessage(got.ReceiptHandle); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	wantErr(t, q.DeleteMessage(got.ReceiptHandle), &ali_mns.ERR_MNS_RECEIPT_HANDLE_ERROR, "DeleteMessage twice")
	_, err := receive(q)
	wantErr(t, err, &ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "ReceiveMessage on empty queue")
}

func TestMessage_BatchSendReceiveDelete(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs")
	var reqs []ali_mns.MessageSendRequest
	for i := range 16 {
		reqs = append(reqs, ali_mns.MessageSendRequest{MessageBody: fmt.Sprintf("m%02d", i)})
	}
	sent, err := q.BatchSendMessage(reqs...)
	if err != nil {
		t.Fatalf("BatchSendMessage: %v", err)
	}
	if len(sent.Messages) != 16 || sent.Messages[0].MessageId == "" || sent.Messages[0].ErrorCode != "" {
		t.Fatalf("BatchSendMessage = %+v", sent)
	}

	_, err = q.BatchSendMessage(append(reqs, reqs[0])...)
	wantErr(t, err, &ali_mns.ERR_MNS_INVALID_ARGUMENT, "BatchSendMessage of 17")

	got, err := batchReceive(q, 10)
	if err != nil {
		t.Fatalf("BatchReceiveMessage: %v", err)
	}
	rest, err := batchReceive(q, 16)
	if err != nil {
		t.Fatalf("BatchReceiveMessage rest: %v", err)
	}
	if len(got.Messages) != 10 || len(rest.Messages) != 6 {
		t.Fatalf("BatchReceiveMessage returned %d then %d messages, want 10 then 6", len(got.Messages), len(rest.Messages))
	}
	var handles []string
	for i, m := range append(got.Messages, rest.Messages...) {
		if want := fmt.Sprintf("m%02d", i); m.MessageBody != want {
			t.Errorf("message %d body = %q, want %q (same priority: enqueue order)", i, m.MessageBody, want)
		}
		handles = append(handles, m.ReceiptHandle)
	}
	if _, err := q.BatchDeleteMessage(handles[:16]...); err != nil {
		t.Fatalf("BatchDeleteMessage: %v", err)
	}
	_, err = batchReceive(q, 16)
	wantErr(t, err, &ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "BatchReceiveMessage on empty queue")
}

func TestMessage_BatchSendPartialFailure(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "small", ali_mns.WithMaxMessageSize(1024))
	resp, err := q.BatchSendMessage(
		ali_mns.MessageSendRequest{MessageBody: "ok-1"},
		ali_mns.MessageSendRequest{MessageBody: strings.Repeat("x", 1025)},
		ali_mns.MessageSendRequest{MessageBody: "ok-2", Priority: 17},
		ali_mns.MessageSendRequest{MessageBody: "ok-3"},
	)
	wantErr(t, err, &ali_mns.ERR_MNS_BATCH_OP_FAIL, "BatchSendMessage")
	if len(resp.Messages) != 4 {
		t.Fatalf("BatchSendMessage entries = %+v", resp.Messages)
	}
	for i, wantFail := range []bool{false, true, true, false} {
		e := resp.Messages[i]
		if failed := e.ErrorCode != ""; failed != wantFail || (!failed && e.MessageId == "") {
			t.Errorf("entry %d = %+v, want failed=%v", i, e, wantFail)
		}
		if wantFail && e.ErrorCode != mnsemu.CodeInvalidArgument {
			t.Errorf("entry %d code = %q, want InvalidArgument", i, e.ErrorCode)
		}
	}
	got, err := batchPeek(q, 16)
	if err != nil || len(got.Messages) != 2 {
		t.Fatalf("BatchPeekMessage = %+v, %v; want the 2 successful messages", got, err)
	}
}

func TestMessage_BatchDeletePartialFailure(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs")
	mustSend(t, q, "a")
	mustSend(t, q, "b")
	got, err := batchReceive(q, 2)
	if err != nil {
		t.Fatalf("BatchReceiveMessage: %v", err)
	}
	bogus := "1-bm90LWEtaGFuZGxl"
	resp, err := q.BatchDeleteMessage(got.Messages[0].ReceiptHandle, bogus, got.Messages[1].ReceiptHandle)
	wantErr(t, err, &ali_mns.ERR_MNS_BATCH_OP_FAIL, "BatchDeleteMessage")
	want := []ali_mns.MessageDeleteFailEntry{{
		ErrorCode:     mnsemu.CodeReceiptHandleError,
		ErrorMessage:  "The receipt handle you provide is not valid.",
		ReceiptHandle: bogus,
	}}
	if diff := cmp.Diff(want, resp.FailedMessages, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".XMLName"
	}, cmp.Ignore())); diff != "" {
		t.Fatalf("FailedMessages (-want +got):\n%s", diff)
	}
	attr, err := f.qm.GetQueueAttributes("jobs")
	if err != nil || attr.ActiveMessages+attr.InactiveMessages != 0 {
		t.Fatalf("after partial delete: %+v, %v; want the two valid handles deleted", attr, err)
	}
}

func TestMessage_LongPollReturnsEarly(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs")
	go func() {
		time.Sleep(100 * time.Millisecond)
		if _, err := ali_mns.NewMNSQueue("jobs", f.client).SendMessage(ali_mns.MessageSendRequest{MessageBody: "late"}); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	m, err := receive(q, 10)
	if err != nil || m.MessageBody != "late" {
		t.Fatalf("ReceiveMessage(waitseconds=10) = %+v, %v", m, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("long poll took %v, want an early return", d)
	}
}

func TestMessage_LongPollTimesOut(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs", ali_mns.WithPollingWaitSeconds(1))
	start := time.Now()
	_, err := receive(q) // no waitseconds: the queue's PollingWaitSeconds applies
	wantErr(t, err, &ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "ReceiveMessage")
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Fatalf("long poll took %v, want about 1s", d)
	}
	start = time.Now()
	_, err = batchReceive(q, 4, 1)
	wantErr(t, err, &ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "BatchReceiveMessage")
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("batch long poll took %v, want about 1s", d)
	}
}

func TestMessage_LongPollWakesOnClockJump(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs")
	if _, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "later", DelaySeconds: 3600}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		f.env.Clock.Advance(time.Hour)
	}()
	start := time.Now()
	m, err := receive(q, 10)
	if err != nil || m.MessageBody != "later" {
		t.Fatalf("ReceiveMessage = %+v, %v", m, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("long poll took %v, want a wake-up at the clock jump", d)
	}
}

func TestMessage_VisibilityTimeoutRedelivers(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs", ali_mns.WithVisibilityTimeout(30))
	mustSend(t, q, "task")
	first := mustReceive(t, q)
	_, err := receive(q)
	wantErr(t, err, &ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "ReceiveMessage while inactive")

	f.env.Clock.Advance(31 * time.Second)
	second := mustReceive(t, q)
	if second.MessageId != first.MessageId || second.DequeueCount != 2 || second.FirstDequeueTime != first.FirstDequeueTime {
		t.Fatalf("redelivery = %+v, first = %+v", second, first)
	}
	if second.ReceiptHandle == first.ReceiptHandle {
		t.Fatal("redelivery reused the receipt handle")
	}
	wantErr(t, q.DeleteMessage(first.ReceiptHandle), &ali_mns.ERR_MNS_RECEIPT_HANDLE_ERROR, "DeleteMessage with stale handle")
	if err := q.DeleteMessage(second.ReceiptHandle); err != nil {
		t.Fatalf("DeleteMessage with newest handle: %v", err)
	}
}

func TestMessage_HandleExpiresWithVisibility(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs", ali_mns.WithVisibilityTimeout(10))
	mustSend(t, q, "task")
	m := mustReceive(t, q)
	f.env.Clock.Advance(11 * time.Second)
	wantErr(t, q.DeleteMessage(m.ReceiptHandle), &ali_mns.ERR_MNS_RECEIPT_HANDLE_ERROR, "DeleteMessage after NextVisibleTime")
}

func TestMessage_ChangeVisibility(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	f.env.Clock.Freeze()
	q := f.mustCreateQueue(t, "jobs")
	mustSend(t, q, "task")
	m := mustReceive(t, q)
	now := f.env.Clock.Now().UnixMilli()
	ch, err := q.ChangeMessageVisibility(m.ReceiptHandle, 300)
	if err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	if ch.ReceiptHandle == "" || ch.ReceiptHandle == m.ReceiptHandle || ch.NextVisibleTime != now+300_000 {
		t.Fatalf("ChangeMessageVisibility = %+v (old handle %q, now %d)", ch, m.ReceiptHandle, now)
	}
	_, err = q.ChangeMessageVisibility(m.ReceiptHandle, 10)
	wantErr(t, err, &ali_mns.ERR_MNS_RECEIPT_HANDLE_ERROR, "ChangeMessageVisibility with old handle")
	_, err = q.ChangeMessageVisibility(ch.ReceiptHandle, 0)
	wantErr(t, err, &ali_mns.ERR_MNS_INVALID_ARGUMENT, "VisibilityTimeout 0")

	f.env.Clock.Advance(299 * time.Second)
	_, err = receive(q)
	wantErr(t, err, &ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "ReceiveMessage before the new NextVisibleTime")
	if err := q.DeleteMessage(ch.ReceiptHandle); err != nil {
		t.Fatalf("DeleteMessage with the new handle: %v", err)
	}
}

func TestMessage_DelaySeconds(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs")
	if _, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "delayed", DelaySeconds: 5}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	_, err := receive(q)
	wantErr(t, err, &ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "ReceiveMessage during the delay")
	attr, err := f.qm.GetQueueAttributes("jobs")
	if err != nil || attr.DelayMessages != 1 || attr.ActiveMessages != 0 {
		t.Fatalf("attributes during the delay = %+v, %v", attr, err)
	}
	f.env.Clock.Advance(5 * time.Second)
	if m := mustReceive(t, q); m.MessageBody != "delayed" {
		t.Fatalf("after the delay got %+v", m)
	}
	attr, err = f.qm.GetQueueAttributes("jobs")
	if err != nil || attr.DelayMessages != 0 || attr.InactiveMessages != 1 {
		t.Fatalf("attributes after receive = %+v, %v", attr, err)
	}
}

func TestMessage_Priority(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs")
	for _, p := range []int64{10, 0, 1, 16, 8} {
		if _, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: fmt.Sprint(p), Priority: p}); err != nil {
			t.Fatalf("SendMessage priority %d: %v", p, err)
		}
	}
	got, err := batchReceive(q, 16)
	if err != nil {
		t.Fatalf("BatchReceiveMessage: %v", err)
	}
	var order []string
	for _, m := range got.Messages {
		order = append(order, fmt.Sprintf("%s/%d", m.MessageBody, m.Priority))
	}
	want := []string{"1/1", "0/8", "8/8", "10/10", "16/16"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Fatalf("delivery order body/priority (-want +got):\n%s", diff)
	}
	_, err = q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "x", Priority: 17})
	wantErr(t, err, &ali_mns.ERR_MNS_INVALID_ARGUMENT, "priority 17")
}

func TestMessage_OverSizeBody(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "small", ali_mns.WithMaxMessageSize(1024))
	mustSend(t, q, strings.Repeat("x", 1024))
	_, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: strings.Repeat("x", 1025)})
	wantErr(t, err, &ali_mns.ERR_MNS_INVALID_ARGUMENT, "1025-byte body")
	_, err = q.SendMessage(ali_mns.MessageSendRequest{MessageBody: ""})
	wantErr(t, err, &ali_mns.ERR_MNS_INVALID_ARGUMENT, "empty body")
}

func TestMessage_RetentionExpiry(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "short", ali_mns.WithMessageRetentionPeriod(60))
	mustSend(t, q, "old")
	m := mustReceive(t, q) // inactive messages expire too
	f.env.Clock.Advance(61 * time.Second)
	mustSend(t, q, "new")
	got := mustReceive(t, q)
	if got.MessageBody != "new" {
		t.Fatalf("received %q, want only the unexpired message", got.MessageBody)
	}
	wantErr(t, q.DeleteMessage(m.ReceiptHandle), &ali_mns.ERR_MNS_RECEIPT_HANDLE_ERROR, "DeleteMessage of an expired message")
	snap := f.svc.Snapshot()
	if qs := snap.Queues[0]; qs.Expired != 1 || len(qs.Messages) != 1 {
		t.Fatalf("snapshot = %+v, want 1 expired and 1 stored", qs)
	}
}

func TestMessage_Peek(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs")
	_, err := peek(q)
	wantErr(t, err, &ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "PeekMessage on empty queue")
	mustSend(t, q, "a")
	mustSend(t, q, "b")
	p, err := peek(q)
	if err != nil || p.MessageBody != "a" || p.ReceiptHandle != "" || p.DequeueCount != 0 {
		t.Fatalf("PeekMessage = %+v, %v", p, err)
	}
	bp, err := batchPeek(q, 16)
	if err != nil || len(bp.Messages) != 2 {
		t.Fatalf("BatchPeekMessage = %+v, %v", bp, err)
	}
	if m := mustReceive(t, q); m.MessageBody != "a" || m.DequeueCount != 1 {
		t.Fatalf("ReceiveMessage after peeks = %+v", m)
	}
}

// TestMessage_QueueDelayWhenElementAbsent: the SDK always sends
// <DelaySeconds>, which overrides the queue's; a body without the element
// (another client) gets the queue's DelaySeconds (see assumptions.go).
func TestMessage_QueueDelayWhenElementAbsent(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "slow", ali_mns.WithDelaySeconds(10))
	mustSend(t, q, "sdk") // DelaySeconds 0 on the wire: visible at once
	body := []byte("<Message><MessageBody>raw</MessageBody></Message>")
	req := newSignedRequest(t, f.srv.URL, "POST", "/queues/slow/messages", body)
	if status, e := doRaw(t, req); status != 201 {
		t.Fatalf("raw SendMessage: %d %s", status, e.Code)
	}
	var states []string
	for _, m := range f.svc.Snapshot().Queues[0].Messages {
		states = append(states, m.Body+":"+string(m.State))
	}
	if diff := cmp.Diff([]string{"sdk:Active", "raw:Delayed"}, states); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
}
