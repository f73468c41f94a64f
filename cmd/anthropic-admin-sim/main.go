// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

// Command anthropic-admin-sim serves a local, deterministic simulation of the
// Anthropic Admin API usage, cost, Claude Code and lookup endpoints, for
// developing and testing the usage receiver without a real organization.
//
//	go run ./cmd/anthropic-admin-sim -listen 127.0.0.1:8089 -seed 1
//
// Point the receiver at http://127.0.0.1:8089 with the admin key printed at
// startup (by default sk-ant-admin01-simulator-local-only). Ground truth,
// request counters, freezing and fault injection are under /_sim/ (see the
// simulator package).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/anthropicusage/anthropicusagereceiver/internal/simulator"
)

// defaultAdminKey is the fixed, documented admin key of the local simulator.
const defaultAdminKey = "sk-ant-admin01-simulator-local-only"

func main() {
	listen := flag.String("listen", "127.0.0.1:8089", "address to listen on")
	seed := flag.Int64("seed", 1, "seed of the synthetic organization and its usage")
	historyDays := flag.Int("history-days", 8, "days of usage history before startup")
	scale := flag.Int("scale", 1, "organization size multiplier (more workspaces, keys, series)")
	settle := flag.Duration("settle", 5*time.Minute, "how long a usage minute keeps growing after it closes")
	costSettle := flag.Duration("cost-settle", time.Hour, "how long after a minute closes its cost appears")
	ccDelay := flag.Duration("claude-code-delay", time.Hour, "how long after an hour ends its Claude Code activity appears")
	rpm := flag.Int("rpm", 0, "requests per minute allowed on /v1 (0 = unlimited)")
	adminKey := flag.String("admin-key", defaultAdminKey, "admin key to accept")
	verbose := flag.Bool("v", false, "log one line per request")
	exportEvery := flag.Duration("analytics-export-every", 4*time.Hour, "how often the analytics data is exported (data_refreshed_at)")
	horizon := flag.Duration("analytics-horizon", 30*24*time.Hour, "how long the analytics exports keep revising an hour's values")
	hipaa := flag.Bool("analytics-hipaa", false, "a HIPAA-ready organization: every analytics request is a 400")
	limits := flag.String("limits", simulator.LimitsConsole, "organization the limits endpoints serve: "+strings.Join(simulator.LimitsModes, ", "))
	flag.Parse()
	if !slices.Contains(simulator.LimitsModes, *limits) {
		log.Fatalf("-limits: %q is not one of %s", *limits, strings.Join(simulator.LimitsModes, ", "))
	}

	sim := simulator.New(simulator.Options{
		Seed:              *seed,
		HistoryDays:       *historyDays,
		Org:               simulator.OrgOptions{Scale: *scale},
		UsageSettle:       zeroAsNegative(*settle),
		CostSettle:        zeroAsNegative(*costSettle),
		ClaudeCodeDelay:   zeroAsNegative(*ccDelay),
		RequestsPerMinute: *rpm,
		AdminKey:          *adminKey,
		Analytics: simulator.AnalyticsOptions{
			ExportEvery: *exportEvery, Horizon: zeroAsNegative(*horizon), HIPAA: *hipaa,
		},
		LimitsMode: *limits,
	})

	var handler http.Handler = sim.Handler()
	if *verbose {
		handler = logRequests(handler)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}

	url := "http://" + ln.Addr().String()
	fmt.Printf("Anthropic Admin API simulator listening on %s\n", url)
	fmt.Printf("  admin key (x-api-key):     %s\n", sim.AdminKey())
	fmt.Printf("  non-admin key (gets 403):  %s\n", sim.APIKey())
	fmt.Printf("  organization:              %s (%d usage series, history from %s)\n", sim.OrganizationID(), sim.SeriesCount(), sim.Origin().Format(time.RFC3339))
	fmt.Printf("  limits endpoints:          %s organization (-limits: %s)\n", *limits, strings.Join(simulator.LimitsModes, ", "))
	fmt.Printf("  try: curl -H 'x-api-key: %s' -H 'anthropic-version: 2023-06-01' '%s/v1/organizations/usage_report/messages?starting_at=%s&group_by[]=model'\n",
		sim.AdminKey(), url, time.Now().UTC().Truncate(24*time.Hour).Format("2006-01-02T15:04:05Z"))
	fmt.Printf("  ground truth and controls: %s/_sim/info, /_sim/truth/usage, /_sim/truth/cost, /_sim/truth/claude_code, /_sim/stats, POST /_sim/freeze, POST /_sim/faults\n", url)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("serve: %v", err)
		}
	case <-ctx.Done():
		fmt.Println("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
}

// zeroAsNegative maps an explicit 0 flag value to the simulator's "no delay"
// (a negative duration), since 0 in Options means "default".
func zeroAsNegative(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Hijack lets the simulator's connection-reset fault work through the logger.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	r.status = 0
	return hj.Hijack()
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Printf("%s %s %d %s %s", r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond), w.Header().Get("request-id"))
	})
}
