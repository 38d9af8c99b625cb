// Package mnsemu emulates the queue side of Alibaba Cloud Message Service
// (MNS) closely enough that the real aliyun-mns-go-sdk v1.0.11 talks to it
// over real HTTP: same paths, signature, headers, XML bodies, statuses and
// error codes. It imports the standard library and localcloud/core only.
//
// # What is modelled
//
//   - Queue operations: CreateQueue (201, 204 when identical, 409
//     QueueAlreadyExist when different), SetQueueAttributes
//     (?metaoverride=true), GetQueueAttributes, DeleteQueue, ListQueue with
//     x-mns-marker / x-mns-ret-number / x-mns-prefix / x-mns-with-meta.
//   - Message operations: SendMessage and BatchSendMessage (≤ 16, partial
//     failure as a <Messages> body the SDK decodes), ReceiveMessage and
//     BatchReceiveMessage (≤ 16) with long polling, PeekMessage and
//     BatchPeekMessage (peekonly=true), DeleteMessage, BatchDeleteMessage (≤ 16,
//     partial failure as <Errors>), ChangeMessageVisibility.
//   - Message life cycle on the emulated clock (core.Clock): Delayed →
//     Active → Inactive for the visibility timeout → deleted or Active again;
//     DequeueCount, EnqueueTime, FirstDequeueTime and NextVisibleTime in epoch
//     milliseconds; a new receipt handle on every receive and visibility
//     change, so an older one fails with ReceiptHandleError; retention expiry;
//     priorities 1 (highest) to 16 with 0 meaning 8; body size limits;
//     attribute ranges answered with InvalidArgument; queue-name rules.
//   - Long polls wait in wall time (waitseconds 0..30, else the queue's
//     PollingWaitSeconds) and wake at once when a message is sent, a
//     visibility changes, a delayed or inactive message comes due, or the
//     emulated clock jumps.
//   - Authentication: "Authorization: MNS <AccessKeyId>:<Signature>" checked
//     against core.Credentials, including STS security tokens, the SDK's
//     hex-then-base64 Content-MD5, a required x-mns-version and a Date within
//     a skew window of the wall clock.
//   - Fault injection: every call goes through core.Controls as
//     "mns/<Operation>" (see the Op* constants): throttling answers
//     QpsLimitExceeded, server faults InternalError, drops hang up.
//
// Choices the reference material leaves unconfirmed are all in
// assumptions.go.
//
// # What is not modelled
//
// Topics, subscriptions and notifications; queue logging (LoggingEnabled is
// stored and echoed only); the per-queue QPS limits and the limit on
// concurrent long polls of the real service (use core.Controls instead);
// QueueDeletedRecently; message attributes other than body, delay and
// priority; dead-letter queues (MNS has none: consumers move messages
// themselves). Counts (ActiveMessages, ...) are exact here, approximate in
// the real service. Delivery order is deterministic here (priority, then
// enqueue order); the real service only tries. Messages live in memory.
//
// # Go API
//
// Other emulators (the FC emulator's MNS trigger and async destinations) use
// CreateQueue, Send, Receive, Delete and ChangeVisibility directly, with the
// same semantics as the HTTP operations but without authentication or
// core.Controls. Snapshot and AdminHandler ("GET .../snapshot") expose the
// whole state as JSON for test invariants.
//
// # Pointing the SDK at the emulator
//
// The SDK panics unless the endpoint host has exactly five dot-separated
// labels, so keep the real-looking endpoint
// "http://<AccountId>.mns.<region>.aliyuncs.com" and redirect the
// connection instead: either map that name to 127.0.0.1 in /etc/hosts and
// add the port, or give the client a fasthttp.RoundTripper through
// client.SetTransport that sends every request to the emulator's address,
// for example
//
//	type toEmulator struct{ hc *fasthttp.HostClient } // hc.Addr = "127.0.0.1:PORT"
//
//	func (t toEmulator) RoundTrip(_ *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (bool, error) {
//		return false, t.hc.Do(req, resp)
//	}
//
//	client := ali_mns.NewAliMNSClientWithConfig(ali_mns.AliMNSClientConfig{
//		EndPoint: "http://1234567890.mns.cn-hangzhou.aliyuncs.com",
//		AccessKeyId: id, AccessKeySecret: secret, TimeoutSecond: 35,
//	})
//	client.SetTransport(toEmulator{&fasthttp.HostClient{Addr: "127.0.0.1:PORT"}})
//
// The host is not part of the signature, so the request stays valid; the
// Host header keeps the five-label name. Register the AccessKey pair in the
// shared core.Credentials first. One ali_mns.AliMNSQueue value is not safe
// for concurrent use under the race detector (its client-side QPS monitor
// updates counters without synchronisation): give each goroutine its own
// NewMNSQueue over a shared client.
package mnsemu
