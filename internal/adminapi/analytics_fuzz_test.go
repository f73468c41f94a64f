// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Arbitrary bytes served as an analytics page go through the real walk
// (the beta header, the cap, the decoder with the actor union, the
// paginator's checks) and end in an error or in the page's rows, never in a
// panic or a hang. The recorded fixtures are the seeds.
func FuzzDecodeAnalyticsPage(f *testing.F) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "analytics", "*.json"))
	if err != nil || len(fixtures) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, name := range fixtures {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"data":[{"group":{"actor":{"type":"user_actor","user_id":7}}}],"has_more":false}`))
	f.Add([]byte(`{"data":[{"group":{"actor":"api_actor"}}],"data_refreshed_at":"yesterday"}`))
	f.Add([]byte(`{"data":[{"cost":{"amount":1e400,"list_amount":"-0.5"}}],"has_more":true,"next_page":"same"}`))
	fs := newFuzzServer(f)
	q := AnalyticsQuery{StartingAt: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), EndingAt: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC),
		BucketWidth: BucketWidth1h, GroupBy: []string{DimActor, DimCostType}, Limit: 1000}
	f.Fuzz(func(t *testing.T, body []byte) {
		var rows int
		err := fs.read(t, body, func(ctx context.Context, c *Client) error {
			w, err := c.AnalyticsCost(ctx, q)
			if err != nil {
				return err
			}
			for _, r := range w.Rows {
				if r.Group.Actor != nil {
					_ = r.Group.Actor.ID() // what the receiver does with every actor
				}
				if n, err := r.Cost.Amount.NanoCents(); err == nil {
					_ = NanoCentsToDollars(n)
				}
			}
			rows = len(w.Rows)
			return nil
		})
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				t.Fatalf("context error: %v", err)
			}
			return
		}
		var p AnalyticsCostPage
		if derr := json.NewDecoder(bytes.NewReader(body)).Decode(&p); derr != nil {
			t.Fatalf("the client accepted a body the decoder rejects: %v", derr)
		}
		if p.HasMore || rows != len(p.Data) {
			t.Fatalf("the walk returned %d rows of a page with %d (has_more %v)", rows, len(p.Data), p.HasMore)
		}
	})
}
