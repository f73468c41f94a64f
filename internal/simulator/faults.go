// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Fault is one scripted misbehaviour of the next matching request(s).
//
// Delay is applied first (then the request is served normally unless
// another field says otherwise). Reset hijacks and closes the connection.
// Status answers that status with the documented error envelope
// (429 rate_limit_error, 500 api_error, 504 timeout_error, 529
// overloaded_error, …) and RetryAfter, if set, as the retry-after header:
// a 429 without RetryAfter is the spend-cap flavour. Truncate serves the
// request normally but sends 200 with only the first half of the body (with
// a matching Content-Length, so the HTTP exchange completes and the JSON is
// cut).
type Fault struct {
	Status     int           `json:"status,omitempty"`
	RetryAfter string        `json:"retry_after,omitempty"` // header value; "" = none
	Delay      time.Duration `json:"delay,omitempty"`       // JSON: "2s" or nanoseconds
	Truncate   bool          `json:"truncate,omitempty"`
	Reset      bool          `json:"reset,omitempty"`
	Times      int           `json:"times,omitempty"` // matching requests it applies to; 0 = 1
	// ErrorType and Message override the envelope's error.type and message.
	ErrorType string `json:"error_type,omitempty"`
	Message   string `json:"message,omitempty"`
}

// UnmarshalJSON accepts delay as a Go duration string ("1.5s") or a number
// of nanoseconds.
func (f *Fault) UnmarshalJSON(b []byte) error {
	type plain Fault
	var aux struct {
		plain
		Delay json.RawMessage `json:"delay"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*f = Fault(aux.plain)
	f.Delay = 0
	if len(aux.Delay) > 0 && string(aux.Delay) != "null" {
		var s string
		if err := json.Unmarshal(aux.Delay, &s); err == nil {
			d, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("delay: %w", err)
			}
			f.Delay = d
		} else {
			var n int64
			if err := json.Unmarshal(aux.Delay, &n); err != nil {
				return fmt.Errorf("delay: want a duration string or nanoseconds")
			}
			f.Delay = time.Duration(n)
		}
	}
	return nil
}

// MarshalJSON writes delay as a duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	aux := struct {
		plain
		Delay string `json:"delay,omitempty"`
	}{plain: plain(f)}
	if f.Delay != 0 {
		aux.Delay = f.Delay.String()
	}
	return json.Marshal(aux)
}

// Faults queues scripted faults per endpoint path.
type Faults struct {
	mu     sync.Mutex
	queues map[string][]*queuedFault
}

type queuedFault struct {
	f    Fault
	left int
}

// Script queues faults for an endpoint path (e.g. adminapi.PathCostReport),
// applied in order to the next requests on that path; "*" matches any path.
// A path's own queue is consulted before "*".
func (f *Faults) Script(path string, faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queues == nil {
		f.queues = map[string][]*queuedFault{}
	}
	for _, x := range faults {
		n := x.Times
		if n <= 0 {
			n = 1
		}
		f.queues[path] = append(f.queues[path], &queuedFault{f: x, left: n})
	}
}

// Clear drops every queued fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	f.queues = nil
	f.mu.Unlock()
}

// Pending is the number of requests that queued faults will still affect.
func (f *Faults) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, q := range f.queues {
		for _, x := range q {
			n += x.left
		}
	}
	return n
}

func (f *Faults) next(path string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range []string{path, "*"} {
		q := f.queues[p]
		if len(q) == 0 {
			continue
		}
		x := q[0]
		x.left--
		if x.left <= 0 {
			f.queues[p] = q[1:]
		}
		return x.f, true
	}
	return Fault{}, false
}
