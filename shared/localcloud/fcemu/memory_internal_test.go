package fcemu

import (
	"strings"
	"testing"
)

func TestParseMemStatus(t *testing.T) {
	tests := []struct {
		name   string
		status string
		want   memStatus
		ok     bool
	}{
		{"running", "Name:\tmain\nVmPeak:\t 1000 kB\nVmHWM:\t  9000 kB\nVmRSS:\t  7000 kB\nThreads:\t5\n", memStatus{rss: 7000, hwm: 9000}, true},
		{"no high-water mark", "VmRSS:\t  7000 kB\n", memStatus{rss: 7000, hwm: 7000}, true},
		{"zombie", "Name:\tmain\nState:\tZ (zombie)\nThreads:\t1\n", memStatus{}, false},
		{"malformed", "VmHWM:\t  lots kB\nVmRSS:\t 7000 kB\n", memStatus{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseMemStatus(strings.NewReader(tc.status))
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseMemStatus = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
