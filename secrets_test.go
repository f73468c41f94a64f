// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

const (
	canaryKey     = "sk-ant-admin01-CANARY-d0n0tl3ak-7f3a9c"
	canaryHashKey = "hashkey-CANARY-0123456789abcdef0123"
)

// The admin key never appears in a log line at any level, an error, a
// metric or a config dump, whatever fails, and is never sent to another
// host.
func TestAdminKeyNeverLeaks(t *testing.T) {
	var offHost atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(fmt.Sprint(r.Header), canaryKey) {
			offHost.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()

	var mode atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("x-api-key")
		w.Header().Set("request-id", "req_secret")
		switch mode.Load().(string) {
		case "echo401":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key: %s"},"request_id":"req_secret"}`, key)
		case "echo500":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `internal error for key %s`, key)
		case "429":
			w.Header().Set("retry-after", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down %s"}}`, key)
		case "redirect":
			http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		case "loop":
			http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
		case "echoType":
			w.Header().Set("request-id", "req_"+key)
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"type":"error","error":{"type":"%s","message":"no"},"request_id":"%s"}`, key, key)
		case "echoData":
			fmt.Fprintf(w, `{"data":[{"starting_at":"2026-09-01T10:00:00Z","ending_at":"2026-09-01T10:01:00Z","results":[{"model":"%s"}]}],"has_more":false}`, key)
		case "echoEscaped":
			fmt.Fprintf(w, `{"data":[{"starting_at":"2026-09-01T10:00:00Z","ending_at":"2026-09-01T10:01:00Z","results":[{"model":"%s"}]}],"has_more":false}`,
				strings.ReplaceAll(key, "-", `\u002d`))
		case "truncated":
			w.Header().Set("content-length", "1000")
			fmt.Fprintf(w, `{"data":[{"starting_at":"%s`, key)
		case "badjson":
			fmt.Fprintf(w, `{"data": %s}`, key)
		case "huge":
			fmt.Fprint(w, strings.Repeat(key, 1000))
		default:
			body, _ := testdataFile("usage_report_1m.json")
			_, _ = w.Write(body)
		}
	}))
	defer api.Close()

	var logs bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig())
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(zapcore.NewCore(enc, zapcore.AddSync(&logs), zapcore.DebugLevel))

	cfg := testConfig(api.URL)
	cfg.AdminAPIKey = canaryKey
	cfg.HashKey = canaryHashKey
	cfg.ClaudeCode.Poll.Enabled = true
	cfg.ClaudeCode.Actor = actorHash
	cfg.MaxResponseBytes = 4096
	cfg.Names.Enabled = true
	cfg.Cost.Poll.Enabled = true
	cfg.ClientConfig.TLS.InsecureSkipVerify = true // warns, and must not print the key either
	clock := fakeclock.New(fixedNow)
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)
	cfg.Storage = &storageID
	r := startReceiver(t, cfg, clock.Now, withSettings(set), withHost(host))

	var errs []string
	var dumps []string
	for _, m := range []string{"ok", "echo401", "echo500", "429", "redirect", "loop", "echoType", "echoData", "echoEscaped", "truncated", "badjson", "huge", "ok"} {
		mode.Store(m)
		r.names.refresh(context.Background(), r.client, r.logger)
		md, err := r.poll()
		if err != nil {
			errs = append(errs, err.Error())
		}
		b, mErr := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		require.NoError(t, mErr)
		dumps = append(dumps, string(b))
		clock.Advance(time.Hour)
	}
	api.Close() // connection refused
	_, err := r.poll()
	require.Error(t, err)
	errs = append(errs, err.Error())
	require.NoError(t, r.Shutdown(context.Background()))

	require.GreaterOrEqual(t, len(errs), 7, "the failure paths were exercised")
	for _, e := range errs {
		assert.NotContains(t, e, canaryKey)
		assert.NotContains(t, e, canaryHashKey)
	}
	assert.Contains(t, strings.Join(errs, "\n"), "[REDACTED]", "an echoed key is redacted, not dropped silently")
	for _, d := range dumps {
		assert.NotContains(t, d, canaryKey)
		assert.NotContains(t, d, canaryHashKey)
	}
	assert.Positive(t, strings.Count(logs.String(), "\n"), "debug logging captured")
	assert.Contains(t, logs.String(), "insecure_skip_verify")
	assert.NotContains(t, logs.String(), canaryKey, "no log line at any level carries the key")
	assert.NotContains(t, logs.String(), canaryHashKey)
	assert.Contains(t, logs.String(), "carries the admin key", "a body that echoes the key is refused")
	assert.Contains(t, logs.String(), "redirect loop")
	assert.Zero(t, offHost.Load(), "the key never reached another host")

	// Checkpoints: nothing the storage extension wrote holds either key.
	files, err := os.ReadDir(host.dir)
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(host.dir, f.Name()))
		require.NoError(t, err)
		assert.NotContains(t, string(b), canaryKey, f.Name())
		assert.NotContains(t, string(b), canaryHashKey, f.Name())
	}

	// Config dumps: the collector's own marshaling, and fmt.
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	assert.NotContains(t, fmt.Sprint(conf.ToStringMap()), canaryKey)
	assert.NotContains(t, fmt.Sprint(conf.ToStringMap()), canaryHashKey)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg.AdminAPIKey), canaryKey)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg.HashKey), canaryHashKey)
}

func TestTLSVerificationIsOnByDefault(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	assert.False(t, cfg.ClientConfig.TLS.InsecureSkipVerify)
	assert.Equal(t, "https://api.anthropic.com", cfg.ClientConfig.Endpoint)

	// A self-signed server is refused unless verification is turned off.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		body, _ := testdataFile("usage_report_1m.json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	cfg = testConfig(srv.URL)
	cfg.RetryOnFailure.Enabled = false
	r := startReceiver(t, cfg, func() time.Time { return fixedNow })
	_, err := r.poll()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
	assert.Contains(t, err.Error(), adminapi.PathUsageMessages)
}
