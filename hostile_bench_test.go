// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// unitsReader yields unit(0), unit(1), … while fewer than size bytes were
// yielded, without holding them: a hostile body of any size costs the
// benchmark nothing.
type unitsReader struct {
	unit func(i int) string
	size int
	i    int
	buf  string
}

func (r *unitsReader) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) {
		if r.buf == "" {
			if r.size <= 0 {
				break
			}
			r.buf = r.unit(r.i)
			r.i++
			r.size -= len(r.buf)
		}
		c := copy(p[w:], r.buf)
		w += c
		r.buf = r.buf[c:]
	}
	if w == 0 {
		return 0, io.EOF
	}
	return w, nil
}

// hostileBody is prefix, then units of unit for about size bytes, then
// suffix.
func hostileBody(prefix string, unit func(int) string, suffix string, size int) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), &unitsReader{unit: unit, size: size}, strings.NewReader(suffix))
}

func same(s string) func(int) string { return func(int) string { return s } }

// hostileTransport answers every request with the body body(req) builds.
type hostileTransport func(*http.Request) io.Reader

func (t hostileTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(t(req)), ContentLength: -1, Request: req,
	}, nil
}

// BenchmarkHostilePagesPeakHeap reports the peak heap of reading the
// hostile pages of issue 16 through the client, with the default
// max_response_bytes (128 MiB): a usage bucket of 32 MiB of empty rows, a
// usage page of empty rows up to the cap, a 32 MiB cursor, Claude Code
// records of 32 MiB of empty records, a Claude Code record of 32 MiB of
// tools, and a workspace lookup of 8 pages of 2 MiB of empty items.
// Whether the read fails or not, the peak is what the body cost, and it
// must stay under hostilePeakBound times max_response_bytes. Run it in a
// process of its own (make bench-memory).
func BenchmarkHostilePagesPeakHeap(b *testing.B) {
	const size = 32 * mib // one body
	bucket := `{"data":[{"starting_at":"2026-09-01T10:00:00Z","ending_at":"2026-09-01T10:01:00Z","results":[`
	tail := `{}]}],"has_more":false,"next_page":null}`
	cases := []struct {
		name string
		mib  float64 // bytes served, in all
		body func(*http.Request) io.Reader
		read func(context.Context, *adminapi.Client) error
	}{
		{"usage-empty-rows", 32, func(*http.Request) io.Reader { return hostileBody(bucket, same(`{},`), tail, size) }, readUsage},
		{"usage-empty-rows-up-to-the-cap", 128, func(*http.Request) io.Reader {
			// Buckets of 500,000 rows, under the rows a bucket may hold: what stops
			// the read is the page's share of decoded memory.
			return hostileBody(bucket, func(i int) string {
				if i%500_000 == 499_999 {
					return `{}]},{"starting_at":"2026-09-01T10:00:00Z","ending_at":"2026-09-01T10:01:00Z","results":[`
				}
				return `{},`
			}, tail, 128*mib-len(bucket)-len(tail)-1024)
		}, readUsage},
		{"usage-long-cursor", 32, func(*http.Request) io.Reader {
			return hostileBody(`{"data":[],"has_more":true,"next_page":"`, same(`p`), `"}`, size)
		}, readUsage},
		{"claude-code-empty-records", 32, func(*http.Request) io.Reader {
			return hostileBody(`{"data":[`, same(`{},`), `{}],"has_more":false,"next_page":null}`, size)
		}, readClaudeCode},
		{"claude-code-many-tools", 32, func(*http.Request) io.Reader {
			return hostileBody(`{"data":[{"date":"2026-09-01T00:00:00Z","tool_actions":{`,
				func(i int) string { return fmt.Sprintf(`"t%d":{},`, i) }, `"t":{}}}],"has_more":false,"next_page":null}`, size)
		}, readClaudeCode},
		{"workspaces-8-pages-of-2MiB", 16, func(req *http.Request) io.Reader {
			n := len(req.URL.Query().Get("after_id"))
			more := n < 7
			return hostileBody(`{"data":[`, same(`{},`), fmt.Sprintf(`{}],"has_more":%t,"first_id":"a","last_id":"%s"}`, more, strings.Repeat("x", n+1)), 2*mib)
		}, func(ctx context.Context, c *adminapi.Client) error {
			_, err := c.ListWorkspaces(ctx)
			return err
		}},
	}
	for _, tc := range cases {
		b.Run("page="+tc.name, func(b *testing.B) {
			client, err := adminapi.New(&http.Client{Transport: hostileTransport(tc.body)}, adminapi.Settings{
				Endpoint: "https://api.anthropic.com", AdminKey: "sk-ant-admin01-bench", MaxResponseBytes: 128 * mib, MaxPages: 100,
				RequestsPerMinute: 1 << 30, Burst: 1 << 20, Logger: zap.NewNop(),
			})
			if err != nil {
				b.Fatal(err)
			}
			var peak, peakObjects, base uint64
			var readErr error
			for range b.N {
				base = heapAfterGC()
				h := startHeapSampler(time.Millisecond)
				readErr = tc.read(context.Background(), client)
				peak, peakObjects = h.finish()
			}
			b.ReportMetric(float64(peak-min(base, peak))/mib, "peak-inuse-MiB")
			b.ReportMetric(float64(peakObjects-min(base, peakObjects))/mib, "peak-objects-MiB")
			b.ReportMetric(tc.mib, "served-MiB")
			if bound := uint64(hostilePeakBound * 128 * mib); peak-min(base, peak) > bound {
				b.Errorf("peak heap %.0f MiB, over the bound of %.0f MiB", float64(peak-min(base, peak))/mib, float64(bound)/mib)
			}
			if readErr != nil {
				b.Logf("%s: %.200s", tc.name, readErr)
			}
		})
	}
}

// hostilePeakBound is the README's bound on what reading one response may
// take of the heap, in multiples of max_response_bytes, whatever the body.
const hostilePeakBound = 6

func readUsage(ctx context.Context, c *adminapi.Client) error {
	q := adminapi.ReportQuery{StartingAt: fixedNow.Add(-time.Hour), EndingAt: fixedNow, BucketWidth: adminapi.BucketWidth1m, Limit: 1440}
	for _, err := range c.UsageReport(ctx, q) {
		if err != nil {
			return err
		}
	}
	return nil
}

func readClaudeCode(ctx context.Context, c *adminapi.Client) error {
	for _, err := range c.ClaudeCodeReport(ctx, fixedNow.Truncate(24*time.Hour)) {
		if err != nil {
			return err
		}
	}
	return nil
}
