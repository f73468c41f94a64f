// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

func benchmarkRead(b *testing.B, scale int, path string, q url.Values) {
	clock := newFakeClock(testStart)
	sim := New(Options{Seed: 1, Now: clock.Now, Org: OrgOptions{Scale: scale}})
	h := sim.Handler()
	target := path + "?" + q.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", target, nil)
		req.Header.Set("x-api-key", sim.AdminKey())
		req.Header.Set("anthropic-version", "2023-06-01")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}

// A receiver-like trailing read: the last hour of 1m buckets, grouped.
func BenchmarkUsage1mGroupedScale50(b *testing.B) {
	q := vals("starting_at", rfc(testStart.Add(-time.Hour)), "bucket_width", "1m", "limit", "1440")
	q["group_by[]"] = []string{"workspace_id", "api_key_id", "model", "service_tier", "context_window", "inference_geo"}
	benchmarkRead(b, 50, adminapi.PathUsageMessages, q)
}

// A backfill read: the whole history in hourly buckets, grouped by model.
func BenchmarkUsage1hHistoryScale50(b *testing.B) {
	q := vals("starting_at", rfc(testStart.Add(-7*24*time.Hour)), "bucket_width", "1h", "limit", "168")
	q["group_by[]"] = []string{"model", "workspace_id"}
	benchmarkRead(b, 50, adminapi.PathUsageMessages, q)
}

func BenchmarkCostHistoryScale50(b *testing.B) {
	q := vals("starting_at", rfc(dayStart(testStart).Add(-8*24*time.Hour)), "limit", "31")
	q["group_by[]"] = []string{"workspace_id", "description"}
	benchmarkRead(b, 50, adminapi.PathCostReport, q)
}

func BenchmarkClaudeCodeScale50(b *testing.B) {
	benchmarkRead(b, 50, adminapi.PathClaudeCode, vals("starting_at", dayStart(testStart).Add(-24*time.Hour).Format(time.DateOnly), "limit", "1000"))
}
