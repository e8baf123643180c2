package pipeline

import (
	"context"
	"math/rand/v2"
	"time"
)

// RetryPolicy caps and spaces the attempts of a step.
type RetryPolicy struct {
	// MaxAttempts is the most attempts a step gets, the first included.
	MaxAttempts int
	// BaseDelay is the pause after the first failure; it doubles after each
	// further failure, up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// AttemptTimeout bounds one attempt; zero means only the run deadline.
	AttemptTimeout time.Duration
}

// DefaultRetryPolicy is three attempts, 5 s then 10 s apart (±50 %).
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 3, BaseDelay: 5 * time.Second, MaxDelay: 2 * time.Minute}

// Delay is the pause before attempt number next (2, 3, …). Jitter spreads
// the retries of parallel entities that failed together.
func (p RetryPolicy) Delay(next int) time.Duration {
	d := p.BaseDelay
	for i := 2; i < next && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d) //nolint:gosec // jitter, not a secret
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
