// Command queue-worker processes the work queue: onboarding tasks (join role
// groups) and delete tasks (remove stale groups), each ending done, retried
// or dead-lettered with its reason.
package main

import "github.com/sgpilot/sgpilot/shared/app"

func main() { app.Main("queue-worker", app.QueueWorker) }
