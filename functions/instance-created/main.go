// Command instance-created is the EventBridge-triggered function that turns
// ECS instance-created events into onboarding tasks on the MNS work queue.
package main

import "github.com/sgpilot/sgpilot/shared/app"

func main() { app.Main("instance-created", app.InstanceCreated) }
