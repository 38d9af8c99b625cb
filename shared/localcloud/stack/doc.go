// Package stack runs sgpilot's three functions on localcloud, for `make
// demo` (shared/cmd/sgpilot-demo) and, under the test harness
// (shared/testkit/harness), for the end-to-end tests: it builds the function
// binaries from this module with `go build`, starts localcloud with s.yaml,
// the work and dead-letter queues and a seeded account, and calls the
// emulated ECS API through a small signed client of its own.
//
// It imports the standard library and localcloud only: no SDK and no
// sgpilot package (the functions are built, never linked in). The test
// harness adds the real ECS SDK on top.
//
// # Time
//
// The functions run on the wall clock, as on Function Compute; nothing here
// moves the emulated clock. To show what happens days later, change the past
// instead: seed creation times, or move a date tag back with BackdateTag.
package stack
