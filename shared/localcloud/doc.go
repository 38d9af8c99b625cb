// Package localcloud runs sgpilot's local Alibaba Cloud: the ECS emulator
// (ecsemu), the MNS emulator (mnsemu) and the Function Compute runtime
// emulator (fcemu) share one account, one clock, one credential store, one
// set of controls and one event bus (core), and are served on one loopback
// listener:
//
//	/                  ECS RPC API (2014-05-26), signature v1; ESS (2014-08-28)
//	                   and ECI (2018-08-08) by the Version parameter (essemu)
//	/queues...         MNS queue REST API, MNS signature
//	/_localcloud/...   admin: controls, clock, ECS seed and snapshot, MNS
//	                   snapshot, function invocation
//
// Each function instance gets its own runtime API listener (FC_RUNTIME_API
// has no path), started by fcemu.
//
// The functions come from an s.yaml or a ROS template.yml
// (Options.FunctionsFile). Each gets the temporary credentials of its role;
// with Options.RAM on, ramemu decides every call those credentials make
// against the role's policies (template inline policies, or
// docs/ram/<function>.json for an s.yaml), records it per function, and,
// enforcing, refuses it as the real service does.
//
// It imports the standard library and its own sub-packages only.
package localcloud
