package adminapi

import (
	"context"
	"sync"
	"time"
)

// Limiter is a token bucket shared by every report of one receiver, so that
// a 429 on one endpoint slows all of them down: Anthropic supports polling
// about once a minute with short bursts for pagination.
type Limiter struct {
	mu       sync.Mutex
	interval time.Duration // time to earn one token
	burst    float64
	tokens   float64
	last     time.Time
	pausedTo time.Time
	clock    clock
}

// clock is time as the client and limiter see it; tests replace it.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// NewLimiter allows perMinute requests a minute on average and up to burst
// back to back.
func NewLimiter(perMinute, burst int) *Limiter {
	if perMinute <= 0 {
		perMinute = 1
	}
	if burst <= 0 {
		burst = 1
	}
	return &Limiter{
		interval: time.Minute / time.Duration(perMinute),
		burst:    float64(burst),
		tokens:   float64(burst),
		last:     time.Now(),
		clock:    realClock{},
	}
}

// Wait blocks until a request may be sent or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		d := l.reserve(l.clock.Now())
		if d <= 0 {
			return nil
		}
		if err := l.clock.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// reserve takes a token when one is available and otherwise says how long
// to wait before trying again.
func (l *Limiter) reserve(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.pausedTo) {
		return l.pausedTo.Sub(now)
	}
	if el := now.Sub(l.last); el > 0 {
		l.tokens = min(l.burst, l.tokens+float64(el)/float64(l.interval))
		l.last = now
	}
	if l.tokens >= 1 {
		l.tokens--
		return 0
	}
	return time.Duration((1 - l.tokens) * float64(l.interval))
}

// PauseUntil holds every request back until t, after the API said so with
// retry-after.
func (l *Limiter) PauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.pausedTo) {
		l.pausedTo = t
	}
}
