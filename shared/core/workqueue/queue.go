// Package workqueue holds what the work-queue port hands over: a Delivery,
// with the receipt handle that acknowledges it. The worker consumes it; the
// MNS adapter and the fake queue produce it. It moved out of the domain,
// which keeps only sgpilot's vocabulary and rules. Standard library only.
package workqueue

import "time"

// Delivery is one message received from the work queue.
type Delivery struct {
	MessageID     string
	Body          string
	ReceiptHandle string
	DequeueCount  int
	EnqueueTime   time.Time
}
