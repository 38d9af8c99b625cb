// Package domain is sgpilot's vocabulary and its rules: instances, security
// groups, roles, tasks, the membership plan an instance gets, the staleness
// verdict a group gets, and the error kinds every layer speaks.
//
// It imports the standard library only. Nothing here does I/O, reads a clock
// or takes a context: "now" is a value the caller passes in, so every rule is
// a pure function that table tests can pin down.
package domain
