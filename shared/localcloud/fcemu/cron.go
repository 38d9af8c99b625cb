package fcemu

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed timer-trigger cronExpression.
type Schedule interface {
	// Next returns the first fire time strictly after t, or the zero time
	// if there is none within five years.
	Next(t time.Time) time.Time
}

// ParseCron parses an FC timer cronExpression: "@every <n>m" / "@every <n>h"
// (any Go duration that is a whole, positive number of minutes), or six
// fields "sec min hour day-of-month month day-of-week" with "* , - / ?"
// ("?" in the two day fields only), optionally prefixed by "CRON_TZ=<zone> ".
// Without a zone the expression is evaluated in UTC. Month and weekday names
// (JAN, MON) are accepted; day-of-week runs 0-6 from Sunday, 7 is Sunday too.
// When both day fields are restricted a day matching either one fires
// (classic cron); when either is "*" or "?" both must match.
func ParseCron(expr string) (Schedule, error) {
	s := strings.TrimSpace(expr)
	loc := time.UTC
	if rest, ok := strings.CutPrefix(s, "CRON_TZ="); ok {
		zone, tail, found := strings.Cut(rest, " ")
		if !found {
			return nil, fmt.Errorf("cron %q: CRON_TZ=<zone> must be followed by a space and the expression", expr)
		}
		l, err := time.LoadLocation(zone)
		if err != nil {
			return nil, fmt.Errorf("cron %q: unknown time zone %q: %w", expr, zone, err)
		}
		loc = l
		s = strings.TrimSpace(tail)
	}
	if rest, ok := strings.CutPrefix(s, "@every"); ok {
		rest = strings.TrimSpace(rest)
		d, err := time.ParseDuration(rest)
		if err != nil {
			return nil, fmt.Errorf("cron %q: @every needs a duration like 10m or 1h: %w", expr, err)
		}
		if d < time.Minute || d%time.Minute != 0 {
			return nil, fmt.Errorf("cron %q: @every must be a whole number of minutes, at least 1m", expr)
		}
		return everySchedule{d: d}, nil
	}
	if strings.HasPrefix(s, "@") {
		return nil, fmt.Errorf("cron %q: only @every is supported among @ descriptors", expr)
	}
	fields := strings.Fields(s)
	if len(fields) != 6 {
		return nil, fmt.Errorf("cron %q: want 6 fields (sec min hour day-of-month month day-of-week), got %d", expr, len(fields))
	}
	c := &cronSchedule{loc: loc}
	var err error
	specs := []struct {
		dst      *uint64
		name     string
		min, max int
		names    map[string]int
		question bool
		star     *bool
	}{
		{&c.sec, "seconds", 0, 59, nil, false, nil},
		{&c.min, "minutes", 0, 59, nil, false, nil},
		{&c.hour, "hours", 0, 23, nil, false, nil},
		{&c.dom, "day-of-month", 1, 31, nil, true, &c.domStar},
		{&c.month, "month", 1, 12, monthNames, false, nil},
		{&c.dow, "day-of-week", 0, 7, dowNames, true, &c.dowStar},
	}
	for i, sp := range specs {
		var star bool
		*sp.dst, star, err = parseCronField(fields[i], sp.min, sp.max, sp.names, sp.question)
		if err != nil {
			return nil, fmt.Errorf("cron %q: %s field: %w", expr, sp.name, err)
		}
		if sp.star != nil {
			*sp.star = star
		}
	}
	if c.dow&(1<<7) != 0 {
		c.dow |= 1
		c.dow &^= 1 << 7
	}
	return c, nil
}

var monthNames = map[string]int{
	"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
	"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
}

var dowNames = map[string]int{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}

// parseCronField returns the bit set of allowed values and whether the field
// was a bare "*" or "?".
func parseCronField(f string, lo, hi int, names map[string]int, question bool) (uint64, bool, error) {
	if f == "?" {
		if !question {
			return 0, false, fmt.Errorf("%q is only allowed in the day-of-month and day-of-week fields", f)
		}
		return bitRange(lo, hi, 1), true, nil
	}
	if f == "*" {
		return bitRange(lo, hi, 1), true, nil
	}
	var bits uint64
	for _, part := range strings.Split(f, ",") {
		if part == "" {
			return 0, false, fmt.Errorf("empty list element in %q", f)
		}
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 {
				return 0, false, fmt.Errorf("bad step %q in %q", stepStr, f)
			}
			step = n
		}
		var from, to int
		switch {
		case rng == "*" || (rng == "?" && question):
			from, to = lo, hi
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = cronValue(a, names); err != nil {
				return 0, false, err
			}
			if to, err = cronValue(b, names); err != nil {
				return 0, false, err
			}
		default:
			v, err := cronValue(rng, names)
			if err != nil {
				return 0, false, err
			}
			from, to = v, v
			if hasStep {
				to = hi
			}
		}
		if from < lo || to > hi || from > to {
			return 0, false, fmt.Errorf("%q is outside %d-%d or reversed", part, lo, hi)
		}
		bits |= bitRange(from, to, step)
	}
	return bits, false, nil
}

func cronValue(s string, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("bad value %q (special characters other than * , - / ? are not supported)", s)
	}
	return v, nil
}

func bitRange(from, to, step int) uint64 {
	var b uint64
	for v := from; v <= to; v += step {
		b |= 1 << uint(v)
	}
	return b
}

type cronSchedule struct {
	sec, min, hour, dom, month, dow uint64
	domStar, dowStar                bool
	loc                             *time.Location
}

func (c *cronSchedule) dayMatches(t time.Time) bool {
	domOK := c.dom&(1<<uint(t.Day())) != 0
	dowOK := c.dow&(1<<uint(t.Weekday())) != 0
	if c.domStar || c.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// Next walks forward field by field, from the largest unit down, resetting
// the smaller units whenever a larger one moves.
func (c *cronSchedule) Next(after time.Time) time.Time {
	orig := after.Location()
	t := after.In(c.loc).Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		if c.month&(1<<uint(t.Month())) == 0 {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, c.loc)
			continue
		}
		if !c.dayMatches(t) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, c.loc)
			continue
		}
		if c.hour&(1<<uint(t.Hour())) == 0 {
			next := time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, c.loc)
			if !next.After(t) { // a repeated wall-clock hour at a DST change
				next = t.Add(time.Hour).Truncate(time.Minute)
			}
			t = next
			continue
		}
		if c.min&(1<<uint(t.Minute())) == 0 {
			t = t.Truncate(time.Minute).Add(time.Minute)
			continue
		}
		if c.sec&(1<<uint(t.Second())) == 0 {
			t = t.Add(time.Second)
			continue
		}
		return t.In(orig)
	}
	return time.Time{}
}

type everySchedule struct{ d time.Duration }

func (e everySchedule) Next(t time.Time) time.Time {
	return t.Truncate(time.Second).Add(e.d)
}
