// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"net/http"
	"sync"
	"time"
)

// serverClock follows the API's clock from the Date header of its answers:
// the last Date read plus the time elapsed since, measured on the
// monotonic clock, so that a step of the local wall clock does not move it.
type serverClock struct {
	mu   sync.Mutex
	date time.Time // the last Date read, UTC
	at   time.Time // when it was read, with its monotonic reading
}

func (sc *serverClock) observe(h http.Header) {
	d, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return // absent or unreadable [U]: the local clock stands alone
	}
	sc.mu.Lock()
	sc.date, sc.at = d.UTC(), time.Now()
	sc.mu.Unlock()
}

// ServerNow is the API's time now, from the Date of its last answer; false
// before any answer carried one.
func (c *Client) ServerNow() (time.Time, bool) {
	c.server.mu.Lock()
	defer c.server.mu.Unlock()
	if c.server.date.IsZero() {
		return time.Time{}, false
	}
	return c.server.date.Add(time.Since(c.server.at)), true
}
