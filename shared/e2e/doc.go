// Package e2e holds sgpilot's end-to-end tests: the real function binaries,
// built as for Function Compute, run under localcloud's FC runtime emulator
// and talk to its ECS and MNS emulators through the real Alibaba SDKs. It
// also holds the import-arrow test and the scale benchmarks (`make bench`).
package e2e
