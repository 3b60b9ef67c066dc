package cli

import "time"

// The bounds of serve --autostart-interval. The upper one keeps a tick of
// an every-minute schedule (the shortest period a 5-field cron has) well
// within its period when the loop looks at it: a tick found more than one
// period late is skipped as missed (docs/workflows.md).
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
