// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadatatest"
)

// A usage row of the bucket starting at start, model m, output tokens out.
func usageRow(m string, out int64) string {
	return fmt.Sprintf(`{"uncached_input_tokens":0,"cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},`+
		`"cache_read_input_tokens":0,"output_tokens":%d,"server_tool_use":{"web_search_requests":0},"model":%q,`+
		`"workspace_id":null,"api_key_id":null,"service_tier":null,"context_window":null,"inference_geo":null}`, out, m)
}

func usageBody(buckets ...string) string {
	return `{"data":[` + strings.Join(buckets, ",") + `],"has_more":false,"next_page":null}`
}

func bucketJSON(start time.Time, width time.Duration, rows ...string) string {
	return fmt.Sprintf(`{"starting_at":%q,"ending_at":%q,"results":[%s]}`,
		start.Format(time.RFC3339), start.Add(width).Format(time.RFC3339), strings.Join(rows, ","))
}

// Hostile answers get a clear error or are skipped with a warning, and
// never lose or double what was already counted.
func TestHostileInput(t *testing.T) {
	b0 := fixedNow.Truncate(time.Minute)
	good := usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 100)))
	tests := []struct {
		name     string
		body     string
		header   map[string]string
		wantErr  string // the scrape fails with this
		wantWarn string // or the scrape succeeds and warns this
		want     int64  // sonnet output tokens after the hostile answer
	}{
		{name: "body over the cap", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 100), strings.Repeat(" ", 4096))), wantErr: "max_response_bytes", want: 100},
		{name: "deeply nested", body: `{"data":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`, wantErr: "decoding the response", want: 100},
		{name: "huge number", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 100)[:0]+`{"output_tokens":1e30,"model":"sonnet"}`)), wantErr: "decoding the response", want: 100},
		{name: "not JSON", body: `<html>maintenance</html>`, wantErr: "decoding the response", want: 100},
		{name: "negative count", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 150), usageRow("haiku", -5))), wantWarn: "negative count", want: 150},
		{name: "repeated row", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 130), usageRow("sonnet", 130))), wantWarn: "row repeated within a bucket", want: 130},
		{name: "misaligned bucket", body: usageBody(bucketJSON(b0.Add(7*time.Second), time.Minute, usageRow("sonnet", 999))), wantWarn: "outside the requested range", want: 100},
		{name: "bucket after the range", body: usageBody(bucketJSON(b0.Add(time.Hour), time.Minute, usageRow("sonnet", 999))), wantWarn: "outside the requested range", want: 100},
		{name: "bucket before the lookback", body: usageBody(bucketJSON(b0.Add(-72*time.Hour), time.Minute, usageRow("sonnet", 999)), bucketJSON(b0, time.Minute, usageRow("sonnet", 120))), want: 120},
		{name: "buckets out of order", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 110)), bucketJSON(b0.Add(-time.Minute), time.Minute, usageRow("sonnet", 5))), want: 115},
		{name: "next_page loop", body: `{"data":[],"has_more":true,"next_page":"again"}`, wantErr: "pagination", want: 100},
		{name: "has_more without cursor", body: `{"data":[],"has_more":true,"next_page":null}`, wantErr: "pagination", want: 100},
		{name: "empty body", body: ``, wantErr: "decoding the response", want: 100},
		// Item 1: empty rows cost far more decoded than their bytes.
		{name: "rows past the page's decoded share", body: usageBody(bucketJSON(b0, time.Minute, strings.TrimSuffix(strings.Repeat("{},", 600), ","))), wantErr: "decodes into more than 2 times max_response_bytes", want: 100},
		{name: "the key in a 2xx body", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sk-ant-admin01-test-key", 1))), wantErr: "carries the admin key", want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body atomic.Value
			body.Store(good)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("request-id", "req_hostile")
				_, _ = w.Write([]byte(body.Load().(string)))
			}))
			defer srv.Close()
			cfg := testConfig(srv.URL)
			cfg.MaxResponseBytes = 2048
			cfg.Usage.GroupBy = []string{"model"}
			core, logs := observer.New(zap.DebugLevel)
			clock := fakeclock.New(fixedNow)
			next := &testConsumer{}
			r := startReceiver(t, cfg, clock.Now, withLogger(zap.New(core)), withConsumer(next))

			_, err := r.poll()
			require.NoError(t, err)
			require.Equal(t, map[string]int64{"sonnet": 100}, outputTokens(next.ledger()))

			body.Store(tt.body)
			clock.Advance(time.Minute)
			_, err = r.poll()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), adminapi.PathUsageMessages, "the error names the endpoint")
			} else {
				require.NoError(t, err)
			}
			if tt.wantWarn != "" {
				assert.Positive(t, logs.FilterMessageSnippet(tt.wantWarn).Len()+logs.FilterField(zap.String("reason", tt.wantWarn)).Len(),
					"warns %q", tt.wantWarn)
			}

			// Whatever happened, the counted total is intact and the
			// receiver goes on.
			body.Store(good)
			clock.Advance(time.Minute)
			_, err = r.poll()
			require.NoError(t, err)
			assert.Equal(t, tt.want, outputTokens(next.ledger())["sonnet"])
		})
	}
}

// Item 2: after one oversized episode a healthy server is read as before:
// the page limit stops at a floor and grows back, so a steady poll is one
// request again, not one per bucket.
func TestOversizedEpisodeDoesNotSlowTheClient(t *testing.T) {
	b0 := fixedNow.Truncate(time.Minute)
	var endless atomic.Bool
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		if endless.Load() {
			_, _ = w.Write([]byte(`{"data":[` + strings.Repeat(" ", 1<<20)))
			return
		}
		_, _ = w.Write([]byte(usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 100)))))
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.MaxResponseBytes = 64 << 10
	cfg.Usage.GroupBy = []string{"model"}
	clock := fakeclock.New(fixedNow)
	r := startReceiver(t, cfg, clock.Now)
	_, err := r.poll() // the lookback
	require.NoError(t, err)

	endless.Store(true)
	requests.Store(0)
	clock.Advance(time.Minute)
	_, err = r.poll()
	require.ErrorIs(t, err, adminapi.ErrBodyTooLarge)
	assert.Equal(t, int32(5), requests.Load(), "1440, 720, 360, 180, 90 buckets a page, then the poll fails")

	endless.Store(false)
	for range 6 {
		requests.Store(0)
		clock.Advance(time.Minute)
		_, err = r.poll()
		require.NoError(t, err)
		assert.Equal(t, int32(1), requests.Load(), "one request for a steady poll")
	}
}

// Item 11: two rows that sum into one series past int64 are a clear,
// counted warning for the row that would overflow; the first row is
// counted, nothing is emitted as 0, and no value "went down".
func TestRowsSummedPastInt64(t *testing.T) {
	b0 := fixedNow.Truncate(time.Minute)
	// Two rows of one model that differ in a dimension not grouped by.
	row := func(tier string) string {
		return strings.Replace(usageRow("sonnet", 5e18), `"service_tier":null`, fmt.Sprintf(`"service_tier":%q`, tier), 1)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(usageBody(bucketJSON(b0, time.Minute, row("standard"), row("batch")))))
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Usage.GroupBy = []string{"model"}
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(context.Background())) }()
	set := metadatatest.NewSettings(tt)
	core, logs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	next := &testConsumer{}
	r := startReceiver(t, cfg, fakeclock.New(fixedNow).Now, withSettings(set), withConsumer(next))
	_, err := r.poll()
	require.NoError(t, err)

	assert.Equal(t, map[string]int64{"sonnet": 5e18}, outputTokens(next.ledger()), "the first row is counted, the one that would overflow is not")
	warned := logs.FilterField(zap.String("reason", "sum of the series' rows would overflow"))
	require.Equal(t, 1, warned.Len())
	assert.Equal(t, int64(1), warned.All()[0].ContextMap()["rows"])
	assert.Zero(t, logs.FilterMessageSnippet("went down").Len())
	metadatatest.AssertEqualAnthropicUsageSkipped(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("report", "usage"), attribute.String("reason", "sum of the series' rows would overflow")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
}

// Item 3: a key echoed in error.type or in the request-id header reaches
// no error, log line or telemetry label; error_type in telemetry is from
// the fixed vocabulary.
func TestEchoedKeyReachesNoTelemetry(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("x-api-key")
		w.Header().Set("request-id", "req_"+key)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"type":"error","error":{"type":"%s %s","message":"%s"}}`, key, strings.Repeat("x", 70_000), key)
	}))
	defer srv.Close()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(context.Background())) }()
	set := metadatatest.NewSettings(tt)
	core, logs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	cfg := testConfig(srv.URL)
	cfg.AdminAPIKey = canaryKey
	r := startReceiver(t, cfg, fakeclock.New(fixedNow).Now, withSettings(set))
	_, err := r.poll()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), canaryKey)
	for _, e := range logs.All() {
		assert.NotContains(t, e.Message, canaryKey)
		for k, v := range e.ContextMap() {
			assert.NotContains(t, fmt.Sprint(v), canaryKey, k)
		}
	}
	metadatatest.AssertEqualAnthropicUsageRequests(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("endpoint", adminapi.PathUsageMessages), attribute.String("status_class", "4xx"),
			attribute.String("error_type", adminapi.ErrorTypeOther)), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
}

// Item 4: switching claude_code.actor deletes at startup the checkpoints
// written under the other options: after keep, nothing stored names a
// person once the receiver starts with hash, the undelivered batch of keep
// is not sent, and the pseudonyms are keyed; a new hash_key, then drop,
// delete the previous option's checkpoint the same way.
func TestActorOptionSwitchDeletesOtherCheckpoints(t *testing.T) {
	cfg, clock, _ := checkpointTestConfig(t)
	cfg.Usage.Poll.Enabled = false
	cfg.ClaudeCode.Poll.Enabled = true
	cfg.ClaudeCode.Actor = actorKeep
	cfg.ClaudeCode.Poll.Lookback = 48 * time.Hour
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)

	// keep, with a batch the pipeline refuses: the stream and the
	// undelivered batch both name people.
	refusing := &testConsumer{refuse: func(int) bool { return true }}
	r := startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(refusing))
	_, err := r.poll()
	require.NoError(t, err)
	require.Positive(t, refusing.refused)
	keepKey := r.report("claude_code").store.key
	require.NoError(t, r.Shutdown(context.Background()))
	stored := storedValues(t, host, nil, keepKey)
	require.Contains(t, string(stored[keepKey]), "@example.com", "the test's premise: keep stores emails")
	require.Contains(t, string(stored[pendingKey(keepKey)]), "@example.com")

	hashed := *cfg
	hashed.ClaudeCode.Actor = actorHash
	hashed.HashKey = testHashKey
	next := &testConsumer{}
	r = startReceiver(t, &hashed, clock.Now, withHost(host), withConsumer(next))
	hashKey := r.report("claude_code").store.key
	require.NotEqual(t, keepKey, hashKey)
	stored = storedValues(t, host, r, keepKey, hashKey)
	assert.Nil(t, stored[keepKey], "deleted at startup, before any poll")
	assert.Nil(t, stored[pendingKey(keepKey)])
	assert.Equal(t, hashKey, string(stored["claude_code/current"]))
	for k, v := range stored {
		assert.NotContains(t, string(v), "@example.com", k)
	}
	clock.Advance(time.Hour)
	_, err = r.poll()
	require.NoError(t, err)
	actors := 0
	for _, e := range next.ledger() {
		a, ok := e.attrs["anthropic.claude_code.actor"].(string)
		if !ok {
			continue
		}
		actors++
		assert.NotContains(t, a, "@", "the keep batch is not sent")
		assert.Regexp(t, "^[0-9a-f]{32}$", a, "128 bits of HMAC")
	}
	assert.Positive(t, actors)
	require.NoError(t, r.Shutdown(context.Background()))

	rekeyed := hashed
	rekeyed.HashKey = "fedcba9876543210fedcba9876543210"
	r = startReceiver(t, &rekeyed, clock.Now, withHost(host))
	newKey := r.report("claude_code").store.key
	require.NotEqual(t, hashKey, newKey, "a new hash_key is a new shape")
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Nil(t, storedValues(t, host, nil, hashKey)[hashKey], "the previous hash_key's pseudonyms are gone")

	dropped := *cfg
	dropped.ClaudeCode.Actor = actorDrop
	r = startReceiver(t, &dropped, clock.Now, withHost(host))
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Nil(t, storedValues(t, host, nil, newKey)[newKey])
}

// storedValues reads the keys, their undelivered batches and the Claude
// Code report's index: through the running receiver's storage client, or,
// with r nil, through a client of its own.
func storedValues(t *testing.T, host *storageHost, r *testReceiver, keys ...string) map[string][]byte {
	t.Helper()
	var client storage.Client
	if r != nil {
		client = r.storage
	} else {
		c, err := storageClient(context.Background(), host, storageID, component.NewID(metadata.Type))
		require.NoError(t, err)
		defer func() { require.NoError(t, c.Close(context.Background())) }()
		client = c
	}
	out := map[string][]byte{}
	for _, k := range append(keys, "claude_code/current") {
		for _, kk := range []string{k, pendingKey(k)} {
			v, err := client.Get(context.Background(), kk)
			require.NoError(t, err)
			out[kk] = v
		}
	}
	return out
}
