// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

// Package fakeclock is a settable clock for tests that drive the receiver
// and the simulator through hours of simulated time in milliseconds.
package fakeclock // import "github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"

import (
	"sync"
	"time"
)

// Clock is safe for concurrent use; it only moves when told to.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock reading t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
