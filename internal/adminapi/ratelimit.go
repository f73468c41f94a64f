// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"context"
	"time"
)

// clock is time as the client sees it; tests replace it.
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

// waitTurn blocks until the shared pause after a 429 is over and the rate
// limiter lets a request go, or ctx ends.
//
// It reserves with ReserveN at the client's clock instead of calling
// rate.Limiter.Wait, which reads time.Now and waits on a real timer: tests
// run the client on a fake clock and never sleep.
func (c *Client) waitTurn(ctx context.Context) error {
	start := c.clock.Now()
	if err := c.waitPause(ctx); err != nil {
		return err
	}
	now := c.clock.Now()
	r := c.limiter.ReserveN(now, 1) // always OK: New checked Burst >= 1
	if d := r.DelayFrom(now); d > 0 {
		if err := c.clock.Sleep(ctx, d); err != nil {
			r.CancelAt(c.clock.Now())
			return err
		}
	}
	// Another request may have met a 429 while this one waited for its token.
	if err := c.waitPause(ctx); err != nil {
		return err
	}
	if o := c.settings.Observer; o != nil {
		if d := c.clock.Now().Sub(start); d > 0 {
			o.RateLimitWait(d)
		}
	}
	return nil
}

// waitPause sleeps until no pause holds requests back.
func (c *Client) waitPause(ctx context.Context) error {
	for {
		d := c.pausedFor(c.clock.Now())
		if d <= 0 {
			return nil
		}
		if err := c.clock.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

func (c *Client) pausedFor(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pausedUntil.Sub(now)
}

// pauseUntil holds every request of the client back until t.
func (c *Client) pauseUntil(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.pausedUntil) {
		c.pausedUntil = t
	}
}
