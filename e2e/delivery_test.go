// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The delivery tests (TestPipelineShapes, TestDeltaExamplesDurable) share
// one timeline, counted from the moment every collector has delivered its
// first reads:
//
//	+0 s    traffic
//	+4 s    the backends refuse (HTTP 503, gRPC Unavailable)
//	+15 s   SIGKILL of the collectors; started again on the same storage
//	+25 s   the backends accept again
//	+29 s   the simulator is frozen; then everything settles (up to a
//	        minute) and the backends are compared with the truth
//
// The outage lasts seven times the 3 s retry limit that stands in, in the
// matrix, for the exporters' default of 5 minutes.
const (
	outageAfter  = 4 * time.Second
	outageFor    = 21 * time.Second
	killAfter    = 11 * time.Second // into the outage
	trafficAfter = 4 * time.Second  // after the outage, before the freeze

	// The receivers' windows in the delivery tests' configurations.
	deliveryUsageLookback = 30 * time.Minute
	deliveryCostLookback  = 48 * time.Hour
	deliveryCCLookback    = 48 * time.Hour
)

// deliveryStartWindow: collectors are started only in the first 45 s of a
// minute, so that every receiver's lookback (start - 30 m, aligned down to
// the minute) starts in the minute the test computes.
const deliveryStartWindow = 45 * time.Second

// waitStartWindow sleeps into the next minute when too little of this one
// is left.
func waitStartWindow(ctx context.Context, t *testing.T) {
	t.Helper()
	now := time.Now()
	if now.Sub(now.Truncate(time.Minute)) < deliveryStartWindow {
		return
	}
	if err := sleepUntil(ctx, now.Truncate(time.Minute).Add(time.Minute+200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
}

// sameLookbackMinute fails the test when the receivers' start may have been
// in another minute than started.
func sameLookbackMinute(t *testing.T, started, ready time.Time) {
	t.Helper()
	if ready.Truncate(time.Minute) != started.Truncate(time.Minute) {
		t.Fatalf("the collectors took from %s to %s to start, across a minute boundary: the receivers' lookback start is ambiguous", started, ready)
	}
}

// kill ends a collector with SIGKILL: nothing flushed, nothing written.
func kill(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// awaitLog waits until the process's log holds n lines containing s.
func awaitLog(ctx context.Context, t *testing.T, p *process, s string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := strings.Count(p.tail(100000), s)
		if got >= n {
			return
		}
		if p.exited() {
			t.Fatalf("%s exited (%v):\n%s", p.name, p.err, p.tail(40))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: %d lines with %q after %s, want %d:\n%s", p.name, got, s, within, n, p.tail(40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// freeze stops the simulator's traffic; it returns the freeze instant and
// when everything before it is final: the minute holding the freeze is
// final 3 s after it ends, its cost 5 s after (simArgs).
// outage is the delivery tests' timeline from ready: outageAfter later the
// sink refuses the branches; killAfter into the refusal, restart kills the
// collectors with SIGKILL and starts them again; the refusal ends after
// outageFor, traffic goes on for trafficAfter, the simulator is frozen, and
// outage returns when everything has settled.
func (e *env) outage(ctx context.Context, t *testing.T, sink *otlpSink, branches []string, ready time.Time, restart func()) (start, end time.Time) {
	t.Helper()
	start = ready.Add(outageAfter)
	if err := sleepUntil(ctx, start); err != nil {
		t.Fatal(err)
	}
	sink.refuse(true, branches...)
	if err := sleepUntil(ctx, start.Add(killAfter)); err != nil {
		t.Fatal(err)
	}
	restart()
	if err := sleepUntil(ctx, start.Add(outageFor)); err != nil {
		t.Fatal(err)
	}
	sink.refuse(false, branches...)
	end = time.Now()
	if err := sleepUntil(ctx, end.Add(trafficAfter)); err != nil {
		t.Fatal(err)
	}
	frozen, settled := e.freeze(ctx, t)
	t.Logf("refusal %s to %s; frozen at %s; settled from %s (%.0fs to wait)", start.UTC().Format(time.TimeOnly),
		end.UTC().Format(time.TimeOnly), frozen.Format(time.TimeOnly), settled.Format(time.TimeOnly), time.Until(settled).Seconds())
	if err := sleepUntil(ctx, settled); err != nil {
		t.Fatal(err)
	}
	return start, end
}

func (e *env) freeze(ctx context.Context, t *testing.T) (frozen, settled time.Time) {
	t.Helper()
	var answer struct {
		FrozenAt string `json:"frozen_at"`
	}
	if err := postJSON(ctx, e.simURL+"/_sim/freeze?at=now", nil, &answer); err != nil {
		t.Fatalf("freeze: %v", err)
	}
	frozen, err := time.Parse(time.RFC3339Nano, answer.FrozenAt)
	if err != nil {
		t.Fatalf("freeze answer %q: %v", answer.FrozenAt, err)
	}
	e.frozen = frozen
	return frozen, frozen.Truncate(time.Minute).Add(time.Minute + 6*time.Second)
}

// truthTotals is the simulator's final truth for a receiver started at
// started, in the form of the sink's totals: tokens by model and token
// type over [started - usage lookback aligned to the minute, freeze),
// dollars by workspace over [started - cost lookback aligned to the day,
// freeze), and with withCC the Claude Code sessions and tokens of the days
// since started - Claude Code lookback (the days before today from the
// truth, today as the API serves it now).
func (e *env) truthTotals(ctx context.Context, t *testing.T, started time.Time, withCC bool) totals {
	t.Helper()
	out := totals{}
	var usage []usageTruthRow
	if err := e.truth(ctx, "usage", started.Add(-deliveryUsageLookback).Truncate(time.Minute), e.frozen, []string{"model"}, &usage); err != nil {
		t.Fatalf("usage truth: %v", err)
	}
	for _, r := range usage {
		model := orNull(r.Dims["model"], "unknown")
		for tt, n := range r.byTokenType() {
			out["tokens "+model+" "+tt] += float64(n)
		}
	}
	var cost []costTruthRow
	if err := e.truth(ctx, "cost", started.Add(-deliveryCostLookback).Truncate(24*time.Hour), e.frozen, []string{"workspace_id"}, &cost); err != nil {
		t.Fatalf("cost truth: %v", err)
	}
	for _, r := range cost {
		out["dollars "+orNull(r.Dims["workspace_id"], "default")] += float64(r.AmountNanoCents) / 1e11
	}
	if withCC {
		today := time.Now().UTC().Truncate(24 * time.Hour)
		past, err := e.ccTruth(ctx, started.Add(-deliveryCCLookback).Truncate(24*time.Hour), today)
		if err != nil {
			t.Fatalf("claude_code truth: %v", err)
		}
		now, err := e.ccVisible(ctx, today)
		if err != nil {
			t.Fatalf("claude_code report: %v", err)
		}
		cc := past.plus(now)
		out["claude_code sessions"] = float64(cc.sessions)
		out["claude_code tokens"] = float64(cc.tokens)
	}
	// Zeros are not sent in delta: leave them out of the comparison.
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// receiverCounts is the collector's own count of the points each receiver
// handed to its pipeline (otelcol_receiver_*_metric_points, by receiver).
type receiverCounts struct {
	accepted, refused float64 // refused: refused or failed downstream
}

// readReceiverCounts reads the collector's telemetry pull endpoint.
func readReceiverCounts(ctx context.Context, u string) (map[string]receiverCounts, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	out := map[string]receiverCounts{}
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, "_total")
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		_, after, ok := strings.Cut(labels, `receiver="`)
		if !ok {
			continue
		}
		receiver, _, _ := strings.Cut(after, `"`)
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			continue
		}
		c := out[receiver]
		switch name {
		case "otelcol_receiver_accepted_metric_points":
			c.accepted += v
			found = true
		case "otelcol_receiver_refused_metric_points", "otelcol_receiver_failed_metric_points":
			c.refused += v
		default:
			continue
		}
		out[receiver] = c
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s has no otelcol_receiver_accepted_metric_points", u)
	}
	return out, nil
}
