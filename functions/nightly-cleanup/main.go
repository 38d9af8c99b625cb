// Command nightly-cleanup plans the stale-group cleanup, marks and unmarks
// groups, and queues the deletion of groups stale past the grace period.
package main

import "github.com/sgpilot/sgpilot/shared/app"

func main() { app.Main("nightly-cleanup", app.NightlyCleanup) }
