// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

// Fuzz tests of what the Admin API sends back: arbitrary bytes served as a
// report page go through the client's real path (Client.UsageReport,
// CostReport or ClaudeCodeReport: the request, the response cap, the JSON
// decoding, the paginator's checks) and must end in an error or in pages,
// never in a panic or a hang; arbitrary retry-after headers must end in a
// wait between nothing and maxRetryAfter. The seed corpora under testdata/fuzz/ run as ordinary tests;
// `make fuzz-smoke` fuzzes each target for a few seconds. The seeds are
// written by `make fuzz-seeds`, that is
// `go test -run TestWriteFuzzSeeds ./internal/adminapi -write-fuzz-seeds`.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/fuzzcorpus"
)

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the seed corpora under testdata/fuzz from the seeds in the fuzz tests")

// fuzzMaxBody is the response cap of the fuzzed client: small, so that the
// cap is part of what is fuzzed.
const fuzzMaxBody = 4096

// fuzzServer answers every request with 200 and whatever body the fuzz
// function stored last. It is an http.RoundTripper rather than an httptest
// server: the client's path from the response body on (the cap, the JSON
// decoder, pagination) is the same, and a socket per execution exhausts the
// ephemeral ports within a minute of fuzzing (every body the decoder
// rejects closes its connection, leaving it in TIME_WAIT).
type fuzzServer struct {
	body   atomic.Pointer[[]byte]
	client *Client
}

func (fs *fuzzServer) RoundTrip(req *http.Request) (*http.Response, error) {
	body := *fs.body.Load()
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_fuzz"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

func newFuzzServer(f *testing.F) *fuzzServer {
	fs := &fuzzServer{}
	c, err := New(&http.Client{Transport: fs}, Settings{
		Endpoint:          "https://admin-api.fuzz.invalid",
		AdminKey:          "sk-ant-admin01-fuzz",
		MaxResponseBytes:  fuzzMaxBody,
		MaxPages:          3,
		RequestsPerMinute: 1 << 30,
		Burst:             1 << 20,
		Logger:            zap.NewNop(),
	})
	if err != nil {
		f.Fatal(err)
	}
	fs.client = c
	return fs
}

// read serves body and runs one report read; it fails the test if the read
// takes long enough to look like a hang.
func (fs *fuzzServer) read(t *testing.T, body []byte, run func(context.Context, *Client) error) error {
	fs.body.Store(&body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := run(ctx, fs.client)
	if time.Since(start) > 5*time.Second || ctx.Err() != nil {
		t.Fatalf("the read took %s (err %v)", time.Since(start), err)
	}
	return err
}

var fuzzQuery = ReportQuery{
	StartingAt:  time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC),
	EndingAt:    time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC),
	BucketWidth: BucketWidth1m,
	Limit:       1440,
	GroupBy:     []string{"workspace_id", "model"},
}

// checkAgainstDecoder: when the client succeeded, the body's first JSON
// value is a page without a next page, and the client yielded exactly its
// buckets and rows.
func checkAgainstDecoder[R any](t *testing.T, body []byte, err error, buckets, rows int) {
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Fatalf("context error: %v", err)
		}
		return
	}
	// A body over the cap may still succeed when its first JSON value ends
	// before the cap (json.Decoder does not read further); that value must
	// then be a complete last page.
	var p Page[R]
	if derr := json.NewDecoder(bytes.NewReader(body)).Decode(&p); derr != nil {
		t.Fatalf("the client accepted a body the decoder rejects: %v", derr)
	}
	if p.HasMore {
		t.Fatalf("the client accepted a page with has_more and no further page")
	}
	want := 0
	for _, b := range p.Data {
		want += len(b.Results)
	}
	if buckets != len(p.Data) || rows != want {
		t.Fatalf("the client yielded %d buckets and %d rows; the page has %d and %d", buckets, rows, len(p.Data), want)
	}
}

func FuzzDecodeUsagePage(f *testing.F) {
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		buckets, rows := 0, 0
		err := fs.read(t, body, func(ctx context.Context, c *Client) error {
			for p, err := range c.UsageReport(ctx, fuzzQuery) {
				if err != nil {
					return err
				}
				for _, b := range p.Data {
					buckets++
					rows += len(b.Results)
				}
			}
			return nil
		})
		checkAgainstDecoder[UsageResult](t, body, err, buckets, rows)
	})
}

func FuzzDecodeCostPage(f *testing.F) {
	fs := newFuzzServer(f)
	q := fuzzQuery
	q.BucketWidth, q.Limit = BucketWidth1d, 31
	f.Fuzz(func(t *testing.T, body []byte) {
		buckets, rows := 0, 0
		err := fs.read(t, body, func(ctx context.Context, c *Client) error {
			for p, err := range c.CostReport(ctx, q) {
				if err != nil {
					return err
				}
				for _, b := range p.Data {
					buckets++
					rows += len(b.Results)
					for i := range b.Results {
						// What the receiver does with every amount.
						if n, err := b.Results[i].Amount.NanoCents(); err == nil {
							_ = NanoCentsToDollars(n)
						}
					}
				}
			}
			return nil
		})
		checkAgainstDecoder[CostResult](t, body, err, buckets, rows)
	})
}

func FuzzParseDate(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDate(s)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseDate(%q) = %v, not in UTC", s, got)
		}
		if want, err := time.Parse(time.RFC3339, s); err == nil {
			if !got.Equal(want) {
				t.Fatalf("ParseDate(%q) = %v, RFC 3339 says %v", s, got, want)
			}
		} else if !got.Equal(got.Truncate(24 * time.Hour)) {
			t.Fatalf("ParseDate(%q) = %v: a date is a UTC midnight", s, got)
		}
		if y := got.Year(); y >= 0 && y <= 9999 {
			again, err := ParseDate(got.Format(time.RFC3339Nano))
			if err != nil || !again.Equal(got) {
				t.Fatalf("ParseDate(%q) = %v does not round-trip: %v, %v", s, got, again, err)
			}
		}
	})
}

func FuzzDecodeClaudeCodePage(f *testing.F) {
	fs := newFuzzServer(f)
	day := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		records := 0
		err := fs.read(t, body, func(ctx context.Context, c *Client) error {
			for p, err := range c.ClaudeCodeReport(ctx, day) {
				if err != nil {
					return err
				}
				for _, r := range p.Data {
					records++
					_, _ = ParseDate(r.Date) // what the receiver reads first
				}
			}
			return nil
		})
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				t.Fatalf("context error: %v", err)
			}
			return
		}
		var p ClaudeCodePage
		if derr := json.NewDecoder(bytes.NewReader(body)).Decode(&p); derr != nil {
			t.Fatalf("the client accepted a body the decoder rejects: %v", derr)
		}
		if p.HasMore || records != len(p.Data) {
			t.Fatalf("the client yielded %d records of a page with %d and has_more %v", records, len(p.Data), p.HasMore)
		}
	})
}

// FuzzRetryAfter: whatever the headers say, the wait is between 0 and
// maxRetryAfter, and a plain number of seconds within it is taken as is.
func FuzzRetryAfter(f *testing.F) {
	f.Fuzz(func(t *testing.T, ms, s string) {
		h := http.Header{}
		h.Set("retry-after-ms", ms)
		h.Set("retry-after", s)
		d := retryAfter(h)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("retry-after-ms %q, retry-after %q: wait %s, outside [0, %s]", ms, s, d, maxRetryAfter)
		}
		if ms != "" {
			return
		}
		if sec, err := strconv.ParseFloat(s, 64); err == nil && sec > 0 && sec < maxRetryAfter.Seconds() {
			if want := time.Duration(sec * float64(time.Second)); d != want {
				t.Fatalf("retry-after %q: wait %s, want %s", s, d, want)
			}
		}
	})
}

// Seeds.

func fuzzUsageRow(fields string) string {
	return `{"uncached_input_tokens":10,"cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":5},` +
		`"cache_read_input_tokens":20,"output_tokens":30,"server_tool_use":{"web_search_requests":1},` +
		`"api_key_id":"apikey_01","workspace_id":null,"model":"claude-sonnet-4-6","service_tier":"standard",` +
		`"context_window":"0-200k","inference_geo":null,"account_id":null,"service_account_id":null` + fields + `}`
}

func fuzzBucket(start, end string, rows ...string) string {
	return fmt.Sprintf(`{"starting_at":%q,"ending_at":%q,"results":[%s]}`, start, end, strings.Join(rows, ","))
}

func fuzzPage(buckets ...string) string {
	return `{"data":[` + strings.Join(buckets, ",") + `],"has_more":false,"next_page":null}`
}

const (
	fz10 = "2026-09-01T10:00:00Z"
	fz11 = "2026-09-01T10:01:00Z"
	fz12 = "2026-09-01T10:02:00Z"
)

func usageSeeds(t *testing.T) map[string][]byte {
	row := fuzzUsageRow("")
	seeds := map[string][]byte{
		"reference_example":       readSeed(t, "../simulator/testdata/usage_report_example.json"),
		"recorded_1m":             readSeed(t, "../../testdata/apiresponses/usage_report_1m.json"),
		"one_bucket":              []byte(fuzzPage(fuzzBucket(fz10, fz11, row))),
		"empty_page":              []byte(`{"data":[],"has_more":false,"next_page":null}`),
		"null_data":               []byte(`{"data":null,"has_more":false}`),
		"huge_number":             []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"output_tokens":1e30,"model":"m"}`))),
		"int64_overflow":          []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"output_tokens":9223372036854775808,"model":"m"}`))),
		"int64_max":               []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"output_tokens":9223372036854775807,"model":"m"}`, `{"output_tokens":9223372036854775807,"model":"m"}`))),
		"negative_count":          []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"output_tokens":-5,"model":"m"}`))),
		"fraction_count":          []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"output_tokens":1.5,"model":"m"}`))),
		"string_count":            []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"output_tokens":"100","model":"m"}`))),
		"nan_count":               []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"output_tokens":NaN,"model":"m"}`))),
		"deeply_nested":           []byte(`{"data":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`),
		"deeply_nested_object":    []byte(strings.Repeat(`{"data":`, 1000) + `[]` + strings.Repeat(`}`, 1000)),
		"unclosed_nesting":        []byte(`{"data":[{"results":` + strings.Repeat("[", 500)),
		"repeated_bucket":         []byte(fuzzPage(fuzzBucket(fz10, fz11, row), fuzzBucket(fz10, fz11, row))),
		"repeated_row":            []byte(fuzzPage(fuzzBucket(fz10, fz11, row, row))),
		"misaligned_timestamps":   []byte(fuzzPage(fuzzBucket("2026-09-01T10:00:07Z", "2026-09-01T10:01:07Z", row))),
		"offset_timestamps":       []byte(fuzzPage(fuzzBucket("2026-09-01T12:00:00+02:00", "2026-09-01T12:01:00+02:00", row))),
		"reversed_bucket":         []byte(fuzzPage(fuzzBucket(fz12, fz10, row))),
		"bad_timestamp":           []byte(fuzzPage(fuzzBucket("yesterday", fz11, row))),
		"out_of_order":            []byte(fuzzPage(fuzzBucket(fz11, fz12, row), fuzzBucket(fz10, fz11, row))),
		"next_page_loop":          []byte(`{"data":[],"has_more":true,"next_page":"again"}`),
		"has_more_without_cursor": []byte(`{"data":[],"has_more":true,"next_page":null}`),
		"empty_body":              {},
		"null_body":               []byte(`null`),
		"array_body":              []byte(`[]`),
		"trailing_garbage":        []byte(fuzzPage(fuzzBucket(fz10, fz11, row)) + `{"data":[`),
		"truncated":               []byte(fuzzPage(fuzzBucket(fz10, fz11, row))[:120]),
		"over_the_cap":            []byte(fuzzPage(fuzzBucket(fz10, fz11, row)) + strings.Repeat(" ", fuzzMaxBody)),
		"padded_over_the_cap":     []byte(`{"data":[` + strings.Repeat(" ", fuzzMaxBody) + `]}`),
		"error_envelope":          readSeed(t, "../simulator/testdata/error_example.json"),
		"html":                    []byte(`<html><body>maintenance</body></html>`),
		"unknown_fields":          []byte(fuzzPage(fuzzBucket(fz10, fz11, fuzzUsageRow(`,"speed":"fast","future":{"a":[1,2,{"b":null}]}`)))),
		"duplicate_keys":          []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"output_tokens":1,"output_tokens":2,"model":"a","model":"b"}`))),
		"case_folded_keys":        []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"OUTPUT_TOKENS":7,"Model":"m"}`))),
		"escaped_strings":         []byte(fuzzPage(fuzzBucket(fz10, fz11, `{"output_tokens":1,"model":"\u0063laude\ud800\"\\\/","workspace_id":"\u0000"}`))),
		"invalid_utf8":            []byte(fuzzPage(fuzzBucket(fz10, fz11, "{\"output_tokens\":1,\"model\":\"\xff\xfe\"}"))),
		"null_everything":         []byte(`{"data":[{"starting_at":null,"ending_at":null,"results":[null,{"cache_creation":null,"server_tool_use":null}]}],"has_more":null,"next_page":null}`),
	}
	return seeds
}

func costSeeds(t *testing.T) map[string][]byte {
	row := func(amount string) string {
		return `{"currency":"USD","amount":` + amount + `,"workspace_id":null,"description":"Claude Sonnet 4.6 Usage - Input Tokens",` +
			`"cost_type":"tokens","context_window":"0-200k","model":"claude-sonnet-4-6","service_tier":"standard",` +
			`"token_type":"uncached_input_tokens","inference_geo":"global"}`
	}
	const d1, d2 = "2026-09-01T00:00:00Z", "2026-09-02T00:00:00Z"
	seeds := map[string][]byte{
		"reference_example":     readSeed(t, "../simulator/testdata/cost_report_example.json"),
		"recorded":              readSeed(t, "../../testdata/apiresponses/cost_report.json"),
		"one_day":               []byte(fuzzPage(fuzzBucket(d1, d2, row(`"1046.123450"`)))),
		"bare_number_amount":    []byte(fuzzPage(fuzzBucket(d1, d2, row(`312.5`)))),
		"exponent_amount":       []byte(fuzzPage(fuzzBucket(d1, d2, row(`"1e5"`), row(`1e5`)))),
		"nan_amount":            []byte(fuzzPage(fuzzBucket(d1, d2, row(`"NaN"`), row(`"Infinity"`)))),
		"null_amount":           []byte(fuzzPage(fuzzBucket(d1, d2, row(`null`), row(`""`)))),
		"negative_amount":       []byte(fuzzPage(fuzzBucket(d1, d2, row(`"-3.5"`)))),
		"huge_amount":           []byte(fuzzPage(fuzzBucket(d1, d2, row(`"99999999999999999999.5"`), row(`"9223372036.854775808"`)))),
		"long_fraction":         []byte(fuzzPage(fuzzBucket(d1, d2, row(`"0.00000000049999999999999"`)))),
		"object_amount":         []byte(fuzzPage(fuzzBucket(d1, d2, row(`{"value":"1"}`), row(`true`)))),
		"other_currency":        []byte(fuzzPage(fuzzBucket(d1, d2, strings.Replace(row(`"1"`), "USD", "EUR", 1)))),
		"repeated_day":          []byte(fuzzPage(fuzzBucket(d1, d2, row(`"1"`)), fuzzBucket(d1, d2, row(`"1"`)))),
		"misaligned_day":        []byte(fuzzPage(fuzzBucket("2026-09-01T03:00:00Z", "2026-09-02T03:00:00Z", row(`"1"`)))),
		"hour_bucket":           []byte(fuzzPage(fuzzBucket(d1, "2026-09-01T01:00:00Z", row(`"1"`)))),
		"deeply_nested":         []byte(`{"data":[{"results":[{"amount":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}]}]}`),
		"next_page_loop":        []byte(`{"data":[],"has_more":true,"next_page":"again"}`),
		"empty_body":            {},
		"over_the_cap":          []byte(fuzzPage(fuzzBucket(d1, d2, row(`"1"`))) + strings.Repeat("\n", fuzzMaxBody)),
		"unicode_digits_amount": []byte(fuzzPage(fuzzBucket(d1, d2, row(`"\uff11\uff12"`)))),
	}
	return seeds
}

func claudeCodeSeeds(t *testing.T) map[string][]byte {
	record := func(fields string) string {
		return `{"date":"2026-09-01T00:00:00Z","actor":{"type":"user_actor","email_address":"dev@example.com"},` +
			`"terminal_type":"vscode","core_metrics":{"num_sessions":1,"lines_of_code":{"added":2,"removed":1},` +
			`"commits_by_claude_code":0,"pull_requests_by_claude_code":0},"tool_actions":{"edit_tool":{"accepted":1,"rejected":0}},` +
			`"model_breakdown":[{"model":"claude-sonnet-4-6","tokens":{"input":10,"output":5,"cache_read":0,"cache_creation":0},` +
			`"estimated_cost":{"currency":"USD","amount":12}}]` + fields + `}`
	}
	page := func(records ...string) []byte {
		return []byte(`{"data":[` + strings.Join(records, ",") + `],"has_more":false,"next_page":null}`)
	}
	return map[string][]byte{
		"reference_example":  readSeed(t, "../simulator/testdata/claude_code_example.json"),
		"recorded":           readSeed(t, "../../testdata/apiresponses/claude_code.json"),
		"one_record":         page(record("")),
		"api_actor":          page(strings.Replace(record(""), `"type":"user_actor","email_address":"dev@example.com"`, `"type":"api_actor","api_key_name":"ci"`, 1)),
		"date_only":          page(strings.Replace(record(""), "2026-09-01T00:00:00Z", "2026-09-01", 1)),
		"other_day":          page(strings.Replace(record(""), "2026-09-01T00:00:00Z", "2026-08-31T00:00:00Z", 1)),
		"string_cost":        page(strings.Replace(record(""), `"amount":12`, `"amount":"12.5"`, 1)),
		"nan_cost":           page(strings.Replace(record(""), `"amount":12`, `"amount":"NaN"`, 1)),
		"negative_counts":    page(strings.Replace(record(""), `"num_sessions":1`, `"num_sessions":-1`, 1)),
		"huge_counts":        page(strings.Replace(record(""), `"num_sessions":1`, `"num_sessions":1e30`, 1)),
		"null_everything":    page(`{"date":null,"actor":null,"core_metrics":null,"tool_actions":null,"model_breakdown":null}`, `null`),
		"many_tools":         page(strings.Replace(record(""), `"edit_tool":{"accepted":1,"rejected":0}`, `"a":{"accepted":1},"b":{"rejected":2},"c":null`, 1)),
		"repeated_record":    page(record(""), record("")),
		"unknown_fields":     page(record(`,"future":{"x":[1,{"y":null}]}`)),
		"deeply_nested":      []byte(`{"data":[{"tool_actions":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}]}`),
		"next_page_loop":     []byte(`{"data":[],"has_more":true,"next_page":"again"}`),
		"has_more_no_cursor": []byte(`{"data":[],"has_more":true,"next_page":null}`),
		"empty_body":         {},
		"trailing_garbage":   append(page(record("")), `{"data":[`...),
		"over_the_cap":       append(page(record("")), strings.Repeat(" ", fuzzMaxBody)...),
		"error_envelope":     readSeed(t, "../simulator/testdata/error_example.json"),
		"invalid_utf8":       page(strings.Replace(record(""), "dev@example.com", "ÿþ", 1)),
	}
}

var retryAfterSeeds = map[string][]any{
	"seconds":          {"", "3"},
	"fraction":         {"", "0.5"},
	"milliseconds":     {"1500", "3"},
	"bad_milliseconds": {"x", "2"},
	"nan":              {"NaN", "NaN"},
	"inf":              {"", "+Inf"},
	"a_year":           {"", "31536000"},
	"overflow":         {"1e308", "1e300"},
	"negative":         {"-5", "-1"},
	"http_date":        {"", "Wed, 21 Oct 2037 07:28:00 GMT"},
	"past_http_date":   {"", "Mon, 02 Jan 2006 15:04:05 GMT"},
	"hex":              {"0x10", "0x1p-2"},
	"underscores":      {"1_000", "1_0"},
	"empty":            {"", ""},
	"spaces":           {" 5", "5 "},
	"max_exact":        {"", "3599.999999999"},
}

func readSeed(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stringSeeds(ss ...string) map[string][]any {
	out := map[string][]any{}
	for i, s := range ss {
		name := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
				return r
			}
			return '_'
		}, s)
		out[fmt.Sprintf("%02d_%.24s", i, name)] = []any{s}
	}
	return out
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeFuzzSeeds {
		t.Skip("run with -write-fuzz-seeds to rewrite testdata/fuzz")
	}
	fuzzcorpus.Write(t, "FuzzDecodeUsagePage", fuzzcorpus.Bytes(usageSeeds(t)))
	fuzzcorpus.Write(t, "FuzzDecodeCostPage", fuzzcorpus.Bytes(costSeeds(t)))
	fuzzcorpus.Write(t, "FuzzDecodeClaudeCodePage", fuzzcorpus.Bytes(claudeCodeSeeds(t)))
	fuzzcorpus.Write(t, "FuzzRetryAfter", retryAfterSeeds)
	fuzzcorpus.Write(t, "FuzzNanoCents", stringSeeds(nanoCentsSeeds...))
	fuzzcorpus.Write(t, "FuzzParseDate", stringSeeds(
		"2026-09-01", "2026-09-01T00:00:00Z", "2026-09-01T00:00:00.123456789Z", "2026-09-01T02:00:00+02:00",
		"2026-09-01T23:59:60Z", "2026-02-30", "0000-01-01", "9999-12-31T23:59:59Z", "10000-01-01",
		"2026-9-1", "2026-09-01T00:00:00", "2026-09-01 00:00:00Z", "", "2026-09-01T00:00:00+24:00",
		"-001-01-01", "2026-09-01T00:00:00.Z", "2026-09-01Z", "\x00", "2026-09-01T00:00:00-00:01"))
}
