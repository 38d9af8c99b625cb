// Package core holds what every localcloud emulator shares: a controllable
// clock, the credential store (AccessKey pairs and STS tokens), per-action
// controls (call counters, injected latency, rate limits, random faults) and
// Alibaba-style ID generation.
//
// It imports the standard library only, like the rest of localcloud, so that
// tests of the real SDKs against the emulators prove something about the wire.
package core
