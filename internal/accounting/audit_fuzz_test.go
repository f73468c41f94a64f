// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package accounting

import (
	"errors"
	"testing"
	"time"
)

// FuzzAudit drives a stream with hourly buckets and a daily audit through
// arbitrary polls, audits, abandons and values that go up and down, and
// checks after every seal that for every series and counter the total minus
// the corrections is what the reads say now: for an audited day its last
// audit's value, for any other day the sum of the last reads of its hours.
// Totals and corrections never decrease.
func FuzzAudit(f *testing.F) {
	f.Add([]byte{3, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xc8, 1, 2, 3, 0xc0, 9, 9, 9, 40, 5, 6})
	f.Add([]byte{1, 0xff, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fzInput{b: data}
		const day = 24 * time.Hour
		revision := time.Duration(in.next()%4) * time.Hour
		start := fzStart.Add(time.Duration(in.next()%48) * time.Hour)
		s, err := NewStream[string](Config{BucketWidth: time.Hour, RevisionWindow: revision, Start: start,
			AuditWidth: day, AuditWindow: 3 * day})
		if err != nil {
			t.Fatal(err)
		}
		fine := map[int64]map[string]Counters{}    // hour -> last read
		audited := map[int64]map[string]Counters{} // day -> last audit
		now := start
		keys := []string{"a", "b", "c"}
		rows := func() map[string]Counters {
			out := map[string]Counters{}
			for _, k := range keys {
				if v := in.next(); v%4 != 0 {
					out[k] = Counters{int64(v % 50), int64(v / 50)}
				}
			}
			return out
		}
		check := func(when string) {
			want := map[string]Counters{}
			addTo := func(m map[string]Counters) {
				for k, c := range m {
					w := want[k]
					for i := range c {
						w[i] += c[i]
					}
					want[k] = w
				}
			}
			for h, m := range fine {
				if _, ok := audited[h-(h%86400+86400)%86400]; !ok {
					addTo(m)
				}
			}
			for _, m := range audited {
				addTo(m)
			}
			up, down := map[string]Totals{}, map[string]Totals{}
			for k, v := range s.Totals() {
				up[k] = v
			}
			for k, v := range s.CorrectionTotals() {
				down[k] = v
			}
			for _, k := range keys {
				u, d := up[k], down[k]
				for i := range u {
					ui, _ := u[i].Int64()
					di, _ := d[i].Int64()
					if ui-di != want[k][i] {
						t.Fatalf("%s: %s[%d]: total %d - corrections %d = %d, the reads say %d", when, k, i, ui, di, ui-di, want[k][i])
					}
				}
			}
		}
		prevUp, prevDown := map[string]Totals{}, map[string]Totals{}
		monotonic := func(when string) {
			for k, v := range s.Totals() {
				for i := range v {
					if toBig(v[i]).Cmp(toBig(prevUp[k][i])) < 0 {
						t.Fatalf("%s: total %s[%d] went down", when, k, i)
					}
				}
				prevUp[k] = v
			}
			for k, v := range s.CorrectionTotals() {
				for i := range v {
					if toBig(v[i]).Cmp(toBig(prevDown[k][i])) < 0 {
						t.Fatalf("%s: corrections %s[%d] went down", when, k, i)
					}
				}
				prevDown[k] = v
			}
		}
		for step := 0; !in.done() && step < 100; step++ {
			op := in.next()
			now = now.Add(time.Duration(op&0x3f) * 20 * time.Minute)
			if op&0xc0 == 0xc0 { // an audit
				p, ok := s.BeginAudit(now)
				if !ok {
					continue
				}
				read := map[int64]map[string]Counters{}
				for d := p.From(); d.Before(p.To()); d = d.Add(day) {
					r := rows()
					if err := p.Observe(d, d.Add(day), r); err != nil {
						t.Fatalf("step %d: audit of %s: %v", step, d, err)
					}
					read[d.Unix()] = r
				}
				if in.next()%5 == 0 {
					continue // abandoned
				}
				p.Seal()
				for d, r := range read {
					audited[d] = r
				}
			} else { // a poll
				p := s.Begin(now)
				read := map[int64]map[string]Counters{}
				for h := p.From(); h.Before(p.To()); h = h.Add(time.Hour) {
					if in.next()%7 == 0 {
						continue // a bucket not sent: still counted as before
					}
					r := rows()
					if err := p.Observe(h, h.Add(time.Hour), r); err != nil && !errors.Is(err, ErrBucket) {
						t.Fatal(err)
					}
					read[h.Unix()] = r
				}
				if in.next()%5 == 0 {
					continue // abandoned
				}
				p.Seal()
				for h, r := range read {
					fine[h] = r
				}
			}
			check("step")
			monotonic("step")
		}
	})
}
