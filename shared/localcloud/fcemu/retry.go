package fcemu

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Push retry policies of runOptions.retryStrategy.PushRetryStrategy, as
// EventBridge documents them for event streams ("Retry policies and
// dead-letter queues"; devsapp/fc3 docs/zh/yaml/triggers.md, retryStrategy).
const (
	// RetryBackoff retries 3 times, each after a random 10-20 s. It is the
	// default policy.
	RetryBackoff = "BACKOFF_RETRY"
	// RetryExponentialDecay retries 176 times: after 1, 2, 4, ... 256 s and
	// then 167 times after 512 s, about one day in all.
	RetryExponentialDecay = "EXPONENTIAL_DECAY_RETRY"
)

// Figures of the two policies.
const (
	backoffRetries     = 3
	backoffMin         = 10 * time.Second
	backoffSpread      = 10 * time.Second
	decayRetries       = 176
	decayFirstInterval = time.Second
	decayMaxInterval   = 512 * time.Second
)

// RetryStrategy is runOptions.retryStrategy.
type RetryStrategy struct {
	// Policy is PushRetryStrategy; "" means RetryBackoff.
	Policy string
	// MaximumRetryAttempts, when set, lowers the policy's number of retries.
	// It never raises it: a larger value is capped at the policy's figure.
	MaximumRetryAttempts *int
	// MaximumEventAge (MaximumEventAgeInSeconds), when set, ends the retries
	// once the policy's own waits, summed, would pass it.
	MaximumEventAge time.Duration
}

func (r RetryStrategy) validate() error {
	switch r.Policy {
	case "", RetryBackoff, RetryExponentialDecay:
	default:
		return fmt.Errorf("PushRetryStrategy %q is neither %s nor %s", r.Policy, RetryBackoff, RetryExponentialDecay)
	}
	if n := r.MaximumRetryAttempts; n != nil && *n < 0 {
		return errors.New("MaximumRetryAttempts must not be negative")
	}
	if r.MaximumEventAge < 0 {
		return errors.New("MaximumEventAgeInSeconds must not be negative")
	}
	return nil
}

// Delays returns the real waits before each retry of one failed push: one
// entry per retry, in order. jitter returns a number in [0, 1) for the
// random part of RetryBackoff (nil means math/rand). The emulator scales
// these waits (Options.RetryTimeScale) but never adds a retry.
func (r RetryStrategy) Delays(jitter func() float64) []time.Duration {
	if jitter == nil {
		jitter = rand.Float64
	}
	var out []time.Duration
	if r.Policy == RetryExponentialDecay {
		d := decayFirstInterval
		for range decayRetries {
			out = append(out, d)
			d = min(2*d, decayMaxInterval)
		}
	} else {
		for range backoffRetries {
			out = append(out, backoffMin+time.Duration(jitter()*float64(backoffSpread)))
		}
	}
	if n := r.MaximumRetryAttempts; n != nil && *n < len(out) {
		out = out[:*n]
	}
	if age := r.MaximumEventAge; age > 0 {
		var total time.Duration
		for i, d := range out {
			total += d
			if total > age {
				out = out[:i]
				break
			}
		}
	}
	return out
}
