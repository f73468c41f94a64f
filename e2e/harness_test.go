// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

// Package e2e runs the otelcol-anthropic distribution against the Admin API
// simulator and a real Prometheus server (Debian's), and checks through
// PromQL that what Prometheus holds equals the simulator's ground truth.
//
//	make e2e        # builds the distribution and the simulator, then runs this
//
// It needs the prometheus binary on PATH (apt-get install prometheus). The
// binaries under test come from OTELCOL_BIN and SIM_BIN (make sets both);
// without SIM_BIN the simulator is built into a temporary directory.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the repository root (go test runs in the package directory).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// otelcolBin is the distribution under test.
func otelcolBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(t), "dist", "otelcol-anthropic", "otelcol-anthropic")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("collector binary %s: %v (run 'make build', or 'make e2e' which builds it)", bin, err)
	}
	return bin
}

var (
	simOnce  sync.Once
	simPath  string
	simBuild error
)

// simBin is the simulator binary: SIM_BIN, or built once into a temporary
// directory that the test binary removes at exit.
func simBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SIM_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("SIM_BIN %s: %v", bin, err)
		}
		return bin
	}
	simOnce.Do(func() {
		dir, err := os.MkdirTemp("", "e2e-sim")
		if err != nil {
			simBuild = err
			return
		}
		simPath = filepath.Join(dir, "anthropic-admin-sim")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", simPath, "./cmd/anthropic-admin-sim")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			simBuild = fmt.Errorf("go build the simulator: %v\n%s", err, out)
		}
	})
	if simBuild != nil {
		t.Fatal(simBuild)
	}
	return simPath
}

// prometheusBin is Debian's Prometheus server.
func prometheusBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not found on PATH: apt-get install prometheus (or 'make e2e-deps')")
	}
	return bin
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago (all held open together, so that none is returned twice).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// process is a child process whose output goes to a log file in the test's
// temporary directory; it is stopped when the test ends.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startProcess starts bin and registers its shutdown (SIGTERM, then SIGKILL
// after 15 s) with t.Cleanup. Cleanups run last-registered first, so a
// process started later is stopped earlier.
func startProcess(t *testing.T, name, bin string, args []string, env []string) *process {
	t.Helper()
	dir := os.Getenv("E2E_LOG_DIR") // kept after the test when set
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so that a Ctrl-C in the terminal reaches only
	// the test, which stops it; and killed if the test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("---- last lines of %s's log (%s) ----\n%s", name, logPath, p.tail(40))
		}
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) stop(t *testing.T) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Errorf("%s did not stop within 15 s of SIGTERM: killed", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// waitReady polls url until it answers 200, the process exits, or timeout.
func waitReady(t *testing.T, p *process, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := httpClient.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if p.exited() {
			t.Fatalf("%s exited (%v) before %s was ready:\n%s", p.name, p.err, url, p.tail(40))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not ready after %s (last error %v):\n%s", p.name, url, timeout, err, p.tail(40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getJSON GETs url and decodes the JSON answer into v.
func getJSON(ctx context.Context, u string, header http.Header, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	return doJSON(req, v)
}

func postJSON(ctx context.Context, u string, body any, v any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return doJSON(req, v)
}

func doJSON(req *http.Request, v any) error {
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Redacted(), resp.Status, bytes.TrimSpace(b))
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

// promClient queries Prometheus' HTTP API.
type promClient struct{ base string }

// sample is one element of an instant vector.
type sample struct {
	Labels map[string]string
	Value  float64
}

// series is one element of a range query's matrix.
type series struct {
	Labels map[string]string
	Points []point
}

type point struct {
	T time.Time
	V float64
}

type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

func parseValue(pair []any) (time.Time, float64, error) {
	if len(pair) != 2 {
		return time.Time{}, 0, fmt.Errorf("bad sample %v", pair)
	}
	ts, ok := pair[0].(float64)
	s, ok2 := pair[1].(string)
	if !ok || !ok2 {
		return time.Time{}, 0, fmt.Errorf("bad sample %v", pair)
	}
	v, err := strconv.ParseFloat(s, 64)
	return time.UnixMilli(int64(ts * 1000)).UTC(), v, err
}

// query runs an instant query at the current time.
func (p promClient) query(ctx context.Context, q string) ([]sample, error) {
	var resp promResponse
	if err := getJSON(ctx, p.base+"/api/v1/query?"+url.Values{"query": {q}}.Encode(), nil, &resp); err != nil {
		return nil, err
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", q, resp.ErrorType, resp.Error)
	}
	switch resp.Data.ResultType {
	case "vector":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		}
		if err := json.Unmarshal(resp.Data.Result, &raw); err != nil {
			return nil, err
		}
		out := make([]sample, 0, len(raw))
		for _, r := range raw {
			_, v, err := parseValue(r.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, sample{Labels: r.Metric, Value: v})
		}
		return out, nil
	case "scalar":
		var pair []any
		if err := json.Unmarshal(resp.Data.Result, &pair); err != nil {
			return nil, err
		}
		_, v, err := parseValue(pair)
		return []sample{{Labels: map[string]string{}, Value: v}}, err
	default:
		return nil, fmt.Errorf("query %q: unexpected result type %s", q, resp.Data.ResultType)
	}
}

// queryRange runs a range query.
func (p promClient) queryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]series, error) {
	v := url.Values{
		"query": {q},
		"start": {strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64)},
		"end":   {strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', 3, 64)},
	}
	var resp promResponse
	if err := getJSON(ctx, p.base+"/api/v1/query_range?"+v.Encode(), nil, &resp); err != nil {
		return nil, err
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("query_range %q: %s: %s", q, resp.ErrorType, resp.Error)
	}
	if resp.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("query_range %q: unexpected result type %s", q, resp.Data.ResultType)
	}
	var raw []struct {
		Metric map[string]string `json:"metric"`
		Values [][]any           `json:"values"`
	}
	if err := json.Unmarshal(resp.Data.Result, &raw); err != nil {
		return nil, err
	}
	out := make([]series, 0, len(raw))
	for _, r := range raw {
		s := series{Labels: r.Metric}
		for _, pair := range r.Values {
			ts, v, err := parseValue(pair)
			if err != nil {
				return nil, err
			}
			s.Points = append(s.Points, point{ts, v})
		}
		out = append(out, s)
	}
	return out, nil
}

// byLabel turns an instant vector into label value -> value.
func byLabel(samples []sample, label string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples {
		out[s.Labels[label]] += s.Value
	}
	return out
}

// sleepUntil sleeps until t or the context ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return errors.New("test deadline reached")
	}
}

// unionKeys is every key of a and b, sorted.
func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
