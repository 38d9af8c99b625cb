package fcemu_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

func TestParseCron_Next(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, expr, after string
		want              []string
	}{
		{"every 15 minutes", "0 */15 * * * *", "2024-05-01T08:01:00Z", []string{"2024-05-01T08:15:00Z", "2024-05-01T08:30:00Z"}},
		{"on the boundary is strictly after", "0 */15 * * * *", "2024-05-01T08:15:00Z", []string{"2024-05-01T08:30:00Z"}},
		{"every second", "* * * * * *", "2024-05-01T08:00:00.5Z", []string{"2024-05-01T08:00:01Z", "2024-05-01T08:00:02Z"}},
		{"list and range", "30 0,30 9-10 * * *", "2024-05-01T09:45:00Z", []string{"2024-05-01T10:00:30Z", "2024-05-01T10:30:30Z", "2024-05-02T09:00:30Z"}},
		{"question mark day", "0 0 4 1 * ?", "2024-05-01T05:00:00Z", []string{"2024-06-01T04:00:00Z"}},
		{"weekday names", "0 0 12 ? * MON-FRI", "2024-05-03T13:00:00Z", []string{"2024-05-06T12:00:00Z"}},
		{"sunday as 7", "0 0 0 ? * 7", "2024-05-01T00:00:00Z", []string{"2024-05-05T00:00:00Z"}},
		{"dom or dow when both set", "0 0 0 13 * 5", "2024-05-01T00:00:00Z", []string{"2024-05-03T00:00:00Z", "2024-05-10T00:00:00Z", "2024-05-13T00:00:00Z"}},
		{"month names and leap day", "0 0 0 29 FEB *", "2024-03-01T00:00:00Z", []string{"2028-02-29T00:00:00Z"}},
		{"step from a value", "0 5/20 * * * *", "2024-05-01T08:00:00Z", []string{"2024-05-01T08:05:00Z", "2024-05-01T08:25:00Z", "2024-05-01T08:45:00Z", "2024-05-01T09:05:00Z"}},
		{"time zone", "CRON_TZ=Asia/Shanghai 0 0 4 * * *", "2024-05-01T00:00:00Z", []string{"2024-05-01T20:00:00Z", "2024-05-02T20:00:00Z"}},
		{"every 10m", "@every 10m", "2024-05-01T08:00:00Z", []string{"2024-05-01T08:10:00Z", "2024-05-01T08:20:00Z"}},
		{"every 2h", "@every 2h", "2024-05-01T08:00:00Z", []string{"2024-05-01T10:00:00Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fcemu.ParseCron(tc.expr)
			if err != nil {
				t.Fatalf("ParseCron(%q): %v", tc.expr, err)
			}
			cur := at(tc.after)
			for _, w := range tc.want {
				cur = s.Next(cur)
				if !cur.Equal(at(w)) {
					t.Fatalf("next = %s, want %s", cur.UTC().Format(time.RFC3339), w)
				}
			}
		})
	}
}

func TestParseCron_Invalid(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"0 */15 * * *", "want 6 fields"},
		{"0 0 0 * * * *", "want 6 fields"},
		{"60 * * * * *", "outside"},
		{"0 0 24 * * *", "outside"},
		{"0 0 0 0 * *", "outside"},
		{"? * * * * *", "only allowed"},
		{"0 0 0 L * *", "bad value"},
		{"0 0 0 ? * 1#2", "bad value"},
		{"0 */0 * * * *", "bad step"},
		{"0 10-5 * * * *", "reversed"},
		{"@every 30s", "whole number of minutes"},
		{"@every soon", "duration"},
		{"@daily", "only @every"},
		{"CRON_TZ=Mars/Base 0 0 0 * * *", "unknown time zone"},
		{"CRON_TZ=UTC", "followed by"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := fcemu.ParseCron(tc.expr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
