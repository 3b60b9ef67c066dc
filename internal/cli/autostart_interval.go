package cli

import "time"

// The bounds of serve --autostart-interval. The upper one is below the
// shortest period a 5-field cron has (a minute): a loop that looks less
// often than a schedule ticks fires only the latest of the ticks that
// passed between two looks (the missed-tick rule, docs/workflows.md).
const (
	minAutostartInterval = 10 * time.Millisecond
	maxAutostartInterval = 30 * time.Second
)

// checkAutostartInterval validates --autostart-interval.
func checkAutostartInterval(d time.Duration) error {
	if d < minAutostartInterval || d > maxAutostartInterval {
		return invalid("--autostart-interval: must be between %s and %s, got %s", minAutostartInterval, maxAutostartInterval, d)
	}
	return nil
}
