package workflow

import (
	"fmt"
	"strconv"
	"strings"
)

// cronField is the range and names of one field of a cron expression.
type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
}

var cronFields = []cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day of week", min: 0, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// validateCron checks a 5-field cron expression (minute hour day-of-month
// month day-of-week, UTC). Each field is a comma-separated list of *, N,
// N-M, with an optional /STEP; months and days of the week may be named
// (JAN, MON); day of week 7 is Sunday, as 0 is.
func validateCron(expr string) error {
	fs := strings.Fields(expr)
	if len(fs) != len(cronFields) {
		return fmt.Errorf("a cron schedule has 5 fields (minute hour day-of-month month day-of-week), this one has %d", len(fs))
	}
	for i, f := range fs {
		if err := cronFields[i].validate(f); err != nil {
			return fmt.Errorf("cron field %d (%s): %w", i+1, cronFields[i].name, err)
		}
	}
	return nil
}

func (cf cronField) validate(f string) error {
	for _, item := range strings.Split(f, ",") {
		rng, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 {
				return fmt.Errorf("step %q must be a positive integer", step)
			}
		}
		if rng == "*" {
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := cf.value(lo)
		if err != nil {
			return err
		}
		if isRange {
			b, err := cf.value(hi)
			if err != nil {
				return err
			}
			if a > b {
				return fmt.Errorf("range %s is backwards", rng)
			}
		}
	}
	return nil
}

// value parses a number or a name of the field.
func (cf cronField) value(s string) (int, error) {
	for i, n := range cf.names {
		if strings.EqualFold(s, n) {
			return cf.min + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < cf.min || n > cf.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, cf.min, cf.max)
	}
	return n, nil
}
