// Package deadletters is the operator's tooling for sgpilot's dead-letter
// queues: the queue-worker's own (sgpilot-dead-letter, deadletter.Record)
// and sgpilot-failed-events (CloudEvents the work-queue event stream gave
// up on, FC's asynchronous-invocation failure records). It is reached
// through `s queue-worker invoke` with {"mode":"dead-letters",...}.
//
// # Actions
//
//   - list: every letter of the queues (or of a selection) with counts by
//     queue, kind, reason and age;
//   - show: the letters with the given IDs, record included;
//   - replay: sends the task of each selected letter to the work queue
//     with a fresh attempt count (Attempt 1), then deletes the letter;
//     letters without a whole, valid task are skipped and say why;
//   - purge: deletes the selected letters.
//
// Write actions need an explicit selection (IDs, reasons, instance IDs or
// task IDs), or "all":true to select everything: an empty selection is an
// error, never everything.
//
// # Reading without losing
//
// MNS has no peek: a queue is read by receiving, which hides each message
// for the queue's visibility timeout (60 s for sgpilot's dead-letter
// queues, see template.yml). A Tool receives every message it reads (up to
// Request.Limit per queue), deletes only what a replay or purge acted on,
// and gives the rest back at once by setting its visibility to one second. Should it be cut short (deadline, a failed
// call), the messages it held come back when their visibility ends; nothing
// is lost, but for that long a second listing does not see them. Each read
// also raises a message's DequeueCount, which nothing here relies on.
//
// # Duplicates
//
// The worker may write the same record twice (a retried push, a delete
// that failed after the record was sent, a batch that partly went through
// before its one-by-one fallback); copies share their letter ID. A list
// counts a letter once and says how many copies it has; replay sends its
// task once and deletes every copy; purge deletes every copy.
package deadletters
