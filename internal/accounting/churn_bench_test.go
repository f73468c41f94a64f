// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package accounting

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkMonthOfChurn runs a month of hourly polls of 1m buckets (an hour
// of revisions, a daily audit of a week at 1d) over an organization of 2,000
// live series of which a tenth are replaced every day (keys rotated, models
// retired), and reports what the stream holds at the end: series, ledger
// entries, checkpoint bytes and live heap, with series_expiry at 7 days and
// without expiry.
func BenchmarkMonthOfChurn(b *testing.B) {
	for _, expiry := range []time.Duration{7 * 24 * time.Hour, 0} {
		b.Run(fmt.Sprintf("expiry=%s", expiry), func(b *testing.B) {
			for range b.N {
				s, err := NewStream[string](Config{BucketWidth: time.Minute, RevisionWindow: time.Hour, Start: t0,
					AuditWidth: 24 * time.Hour, AuditWindow: 7 * 24 * time.Hour, SeriesExpiry: expiry, MaxSeries: 50000})
				if err != nil {
					b.Fatal(err)
				}
				const live = 2000
				now := t0
				for h := 1; h <= 30*24; h++ {
					now = t0.Add(time.Duration(h) * time.Hour)
					day := h / 24
					p := s.Begin(now)
					for bk := p.From(); bk.Before(p.To()); bk = bk.Add(time.Minute) {
						if bk.Minute()%10 != 0 { // a row every ten minutes per series keeps the run short
							continue
						}
						rows := make(map[string]Counters, live)
						for i := range live {
							// Series i is replaced every ten days, a tenth of them each day.
							gen := (day + i%10) / 10
							rows[fmt.Sprintf("key-%d-gen-%d", i, gen)] = Counters{int64(i%97 + 1), 1}
						}
						if err := p.Observe(bk, bk.Add(time.Minute), rows); err != nil {
							b.Fatal(err)
						}
					}
					p.Seal()
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(s.Series()), "series")
				b.ReportMetric(float64(s.LedgerEntries()), "ledger-entries")
				b.ReportMetric(float64(len(s.MarshalBinary(stringCodec))), "checkpoint-bytes")
				b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
			}
		})
	}
}
