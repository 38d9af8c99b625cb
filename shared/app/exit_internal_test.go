package app

import (
	"context"
	"testing"
	"time"
)

// After a handler panic the process exits once the response had time to go
// out, with ExitCodePanicked, through the Exit hook.
func TestExitAfterResponse(t *testing.T) {
	codes := make(chan int, 1)
	d := &Deps{Exit: func(code int) { codes <- code }, ExitDelay: 10 * time.Millisecond}
	start := time.Now()
	d.exitAfterResponse(context.Background())
	select {
	case code := <-codes:
		if code != ExitCodePanicked {
			t.Errorf("exit code %d, want %d", code, ExitCodePanicked)
		}
		if since := time.Since(start); since < 10*time.Millisecond {
			t.Errorf("exited after %s, before the delay", since)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the process was not told to exit")
	}
}
