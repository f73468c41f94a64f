// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// fuzzKey is the admin key of FuzzClient, which the fuzzer may echo
// anywhere.
const fuzzKey = "sk-ant-admin01-fuzzSECRET-7f3a9c"

// fuzzAnswer is one answer of a fuzzed server: a status, headers ("name:
// value" lines) and a body, for every request (redirects included).
type fuzzAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a *fuzzAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		Status: fmt.Sprint(a.status), StatusCode: a.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: a.header.Clone(), Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)), Request: req,
	}, nil
}

// fuzzReads are the client's reads, by the fuzzer's choice: each returns
// what the receiver would take from it.
var fuzzReads = []func(context.Context, *Client) (any, error){
	func(ctx context.Context, c *Client) (any, error) { return collect(c.UsageReport(ctx, fuzzQuery)) },
	func(ctx context.Context, c *Client) (any, error) {
		q := fuzzQuery
		q.BucketWidth, q.Limit = BucketWidth1d, 31
		return collect(c.CostReport(ctx, q))
	},
	func(ctx context.Context, c *Client) (any, error) {
		return collect(c.ClaudeCodeReport(ctx, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)))
	},
	func(ctx context.Context, c *Client) (any, error) { return c.ListWorkspaces(ctx) },
	func(ctx context.Context, c *Client) (any, error) { return c.ListAPIKeys(ctx) },
	func(ctx context.Context, c *Client) (any, error) { return c.Organization(ctx) },
}

func collect[P any](seq func(func(P, error) bool)) ([]P, error) {
	var out []P
	for p, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

// fuzzAllocBound bounds what one read may allocate, whatever the answer:
// a few pages (max_pages 3) of the response cap (fuzzMaxBody) and of their
// decoded share, with redirects, plus the client's fixed costs. It bounds
// the peak heap from above.
const fuzzAllocBound = 4 << 20

// FuzzClient drives the whole client with a fuzzed answer (status,
// headers, body) on every kind of read, and checks the receiver's
// invariants: no panic or hang; the admin key in no output (the error,
// every log line, what the read returns); error types of the telemetry from
// the fixed vocabulary; and a bounded allocation, hence a bounded heap.
func FuzzClient(f *testing.F) {
	page := `{"data":[{"starting_at":"2026-09-01T10:00:00Z","ending_at":"2026-09-01T10:01:00Z","results":[{"output_tokens":1,"model":"m"}]}],"has_more":false,"next_page":null}`
	for _, s := range []struct {
		status  uint16
		headers string
		body    string
	}{
		{200, "request-id: req_1", page},
		{200, "", `{"data":[{"id":"w","name":"n"}],"has_more":false}`},
		{200, "", `{"id":"org","name":"Org"}`},
		{401, "request-id: req_" + fuzzKey, `{"type":"error","error":{"type":"` + fuzzKey + `","message":"bad ` + fuzzKey + `"}}`},
		{429, "retry-after: 3\nrequest-id: " + strings.Repeat("x", 300), `{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}`},
		{200, "", strings.Replace(page, `"m"`, `"`+fuzzKey+`"`, 1)},
		{200, "", strings.Replace(page, `"m"`, `"`+strings.Replace(fuzzKey, "-", `\u002d`, 1)+`"`, 1)},
		{302, "location: /elsewhere", ""},
		{302, "location: https://other.invalid/" + fuzzKey, ""},
		{200, "", `{"data":[` + strings.TrimSuffix(strings.Repeat("{},", 1300), ",") + `]}`},
		{200, "", `{"data":[],"has_more":true,"next_page":"` + strings.Repeat("c", 5000) + `"}`},
		{500, "", "<html>" + fuzzKey + "</html>"},
	} {
		for which := range fuzzReads {
			f.Add(s.status, s.headers, []byte(s.body), uint8(which))
		}
	}
	f.Fuzz(func(t *testing.T, status uint16, headers string, body []byte, which uint8) {
		answer := &fuzzAnswer{status: 100 + int(status)%500, header: http.Header{}, body: body}
		for line := range strings.SplitSeq(headers, "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok {
				answer.header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
			}
		}
		core, logs := observer.New(zap.DebugLevel)
		rec := &recorder{}
		c, err := New(&http.Client{Transport: answer}, Settings{
			Endpoint: "https://admin-api.fuzz.invalid", AdminKey: fuzzKey, MaxResponseBytes: fuzzMaxBody, MaxPages: 3,
			RequestsPerMinute: 1 << 30, Burst: 1 << 20, Logger: zap.New(core), Observer: rec,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := fuzzReads[int(which)%len(fuzzReads)](ctx, c)
		runtime.ReadMemStats(&after)
		if ctx.Err() != nil {
			t.Fatalf("the read did not end: %v", err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > fuzzAllocBound {
			t.Fatalf("the read allocated %d bytes, over %d", n, fuzzAllocBound)
		}
		var outputs []string
		if err != nil {
			outputs = append(outputs, err.Error())
		}
		for _, e := range logs.All() {
			outputs = append(outputs, e.Message, fmt.Sprint(e.ContextMap()))
		}
		returned, merr := json.Marshal(got)
		if merr != nil {
			t.Fatalf("what the read returned does not marshal: %v", merr)
		}
		outputs = append(outputs, string(returned))
		for _, o := range outputs {
			if strings.Contains(o, fuzzKey) {
				t.Fatalf("the key reached an output: %.300s", o)
			}
		}
		for _, call := range rec.calls {
			if !strings.HasPrefix(call, "request ") {
				continue
			}
			typ := call[strings.LastIndexByte(call, ' ')+1:]
			if typ != "" && typ != ErrorTypeOther && typ != ErrorTypeTransport && typ != ErrorTypeDecode && typ != ErrorTypeRedirect &&
				!slices.Contains(documentedErrorTypes, typ) {
				t.Fatalf("error type %q is not of the vocabulary", typ)
			}
		}
	})
}
