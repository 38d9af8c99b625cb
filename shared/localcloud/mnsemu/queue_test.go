package mnsemu_test

import (
	"fmt"
	"testing"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"
	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

func TestQueue_CreateGetSetDelete(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	if err := f.qm.CreateQueue("sg-sync", 0, 2048, 3600, 60, 5, 2); err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	attr, err := f.qm.GetQueueAttributes("sg-sync")
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if attr.QueueName != "sg-sync" || attr.MaxMessageSize != 2048 || attr.MessageRetentionPeriod != 3600 ||
		attr.VisibilityTimeout != 60 || attr.PollingWaitSeconds != 5 || attr.DelaySeconds != 0 || attr.CreateTime == 0 {
		t.Fatalf("GetQueueAttributes = %+v", attr)
	}

	err = f.qm.SetQueueAttributesWithOptions("sg-sync", ali_mns.WithVisibilityTimeout(120), ali_mns.WithDelaySeconds(3))
	if err != nil {
		t.Fatalf("SetQueueAttributes: %v", err)
	}
	attr, err = f.qm.GetQueueAttributes("sg-sync")
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	// The SDK always sends DelaySeconds and PollingWaitSeconds, so the
	// override resets PollingWaitSeconds to 0; MaximumMessageSize and
	// MessageRetentionPeriod are omitted and keep their values.
	if attr.VisibilityTimeout != 120 || attr.DelaySeconds != 3 || attr.PollingWaitSeconds != 0 ||
		attr.MaxMessageSize != 2048 || attr.MessageRetentionPeriod != 3600 {
		t.Fatalf("after SetQueueAttributes: %+v", attr)
	}

	if err := f.qm.DeleteQueue("sg-sync"); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	_, err = f.qm.GetQueueAttributes("sg-sync")
	wantErr(t, err, &ali_mns.ERR_MNS_QUEUE_NOT_EXIST, "GetQueueAttributes after delete")
	wantErr(t, f.qm.DeleteQueue("sg-sync"), &ali_mns.ERR_MNS_QUEUE_NOT_EXIST, "DeleteQueue twice")
}

func TestQueue_CreateExisting(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	f.mustCreateQueue(t, "jobs")
	wantErr(t, f.qm.CreateSimpleQueue("jobs"), &ali_mns.ERR_MNS_QUEUE_ALREADY_EXIST_AND_HAVE_SAME_ATTR, "same attributes")
	err := f.qm.CreateQueueWithOptions("jobs", ali_mns.WithVisibilityTimeout(99))
	wantErr(t, err, &ali_mns.ERR_MNS_QUEUE_ALREADY_EXIST, "different attributes")
}

func TestQueue_Validation(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	long := fmt.Sprintf("%0121d", 0)
	tests := []struct {
		name  string
		queue string
		opts  []ali_mns.QueueOption
		want  errTemplate
	}{
		{"underscore", "bad_name", nil, &ali_mns.ERR_MNS_INVALID_QUEUE_NAME},
		{"leading dash", "-q", nil, &ali_mns.ERR_MNS_INVALID_QUEUE_NAME},
		{"too long", long, nil, &ali_mns.ERR_MNS_QUEUE_NAME_LENGTH_ERROR},
		{"small max size", "q1", []ali_mns.QueueOption{ali_mns.WithMaxMessageSize(100)}, &ali_mns.ERR_MNS_INVALID_ARGUMENT},
		{"retention over 7 days", "q2", []ali_mns.QueueOption{ali_mns.WithMessageRetentionPeriod(1000000)}, &ali_mns.ERR_MNS_INVALID_ARGUMENT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, f.qm.CreateQueueWithOptions(tc.queue, tc.opts...), tc.want, "CreateQueue")
		})
	}
}

func TestQueue_List(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	for _, n := range []string{"q-c", "q-a", "other", "q-b"} {
		f.mustCreateQueue(t, n)
	}
	page1, err := f.qm.ListQueue("", 2, "q-")
	if err != nil {
		t.Fatalf("ListQueue: %v", err)
	}
	page2, err := f.qm.ListQueue(page1.NextMarker, 2, "q-")
	if err != nil {
		t.Fatalf("ListQueue page 2: %v", err)
	}
	var got []string
	for _, q := range append(page1.Queues, page2.Queues...) {
		got = append(got, q.QueueURL)
	}
	want := []string{testEndpoint + "/queues/q-a", testEndpoint + "/queues/q-b", testEndpoint + "/queues/q-c"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ListQueue URLs (-want +got):\n%s", diff)
	}
	if page1.NextMarker == "" || page2.NextMarker != "" {
		t.Fatalf("NextMarker page1=%q page2=%q", page1.NextMarker, page2.NextMarker)
	}

	detail, err := f.qm.ListQueueDetail("", 0, "oth")
	if err != nil {
		t.Fatalf("ListQueueDetail: %v", err)
	}
	if len(detail.Attrs) != 1 || detail.Attrs[0].QueueName != "other" || detail.Attrs[0].VisibilityTimeout != 30 {
		t.Fatalf("ListQueueDetail = %+v", detail)
	}
}

func TestQueue_NotExist(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := ali_mns.NewMNSQueue("missing", f.client)
	_, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "x"})
	wantErr(t, err, &ali_mns.ERR_MNS_QUEUE_NOT_EXIST, "SendMessage")
	_, err = receive(q)
	wantErr(t, err, &ali_mns.ERR_MNS_QUEUE_NOT_EXIST, "ReceiveMessage")
	// Batch calls decode <Error> bodies through the SDK's fallback path.
	_, err = q.BatchDeleteMessage("1-abc")
	wantErr(t, err, &ali_mns.ERR_MNS_QUEUE_NOT_EXIST, "BatchDeleteMessage")
	_, err = q.BatchSendMessage(ali_mns.MessageSendRequest{MessageBody: "x"})
	wantErr(t, err, &ali_mns.ERR_MNS_QUEUE_NOT_EXIST, "BatchSendMessage")
}
