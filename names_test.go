// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// namesAPI serves the usage fixture and the lookups; the lookups fail
// while failing is set.
type namesAPI struct {
	failing atomic.Bool
	lookups atomic.Int32
	usage   http.Handler
}

func (a *namesAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("request-id", "req_names")
	switch r.URL.Path {
	case adminapi.PathUsageMessages:
		a.usage.ServeHTTP(w, r)
		return
	case adminapi.PathWorkspaces, adminapi.PathAPIKeys, adminapi.PathMe:
		a.lookups.Add(1)
	}
	if a.failing.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"type":"error","error":{"type":"api_error","message":"Internal server error"},"request_id":"req_names"}`))
		return
	}
	switch r.URL.Path {
	case adminapi.PathWorkspaces:
		if r.URL.Query().Get("include_archived") != "true" {
			http.Error(w, "archived workspaces must be asked for", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"data":[{"id":"wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ","type":"workspace","name":"Production","archived_at":"2026-08-01T00:00:00Z"}],"has_more":false,"first_id":"wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ","last_id":"wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"}`))
	case adminapi.PathAPIKeys:
		if r.URL.Query().Get("after_id") == "" {
			_, _ = w.Write([]byte(`{"data":[{"id":"apikey_other","type":"api_key","name":"Other","status":"active"}],"has_more":true,"first_id":"apikey_other","last_id":"apikey_other"}`))
			return
		}
		_, _ = w.Write([]byte(`{"data":[{"id":"apikey_01Rj2N8SVvo6BePZj99NhmiT","type":"api_key","name":"Developer Key","status":"inactive"}],"has_more":false,"first_id":"apikey_01Rj2N8SVvo6BePZj99NhmiT","last_id":"apikey_01Rj2N8SVvo6BePZj99NhmiT"}`))
	case adminapi.PathMe:
		_, _ = w.Write([]byte(`{"id":"12345678-1234-5678-1234-567812345678","name":"Example Org","type":"organization"}`))
	default:
		http.NotFound(w, r)
	}
}

func resourceAttrs(md pmetric.Metrics) []map[string]any {
	var out []map[string]any
	for i := range md.ResourceMetrics().Len() {
		out = append(out, md.ResourceMetrics().At(i).Resource().Attributes().AsRaw())
	}
	return out
}

func pointAttr(md pmetric.Metrics, key string) []string {
	var out []string
	for i := range md.ResourceMetrics().Len() {
		ms := md.ResourceMetrics().At(i).ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			dps := ms.At(j).Sum().DataPoints()
			for k := range dps.Len() {
				if v, ok := dps.At(k).Attributes().Get(key); ok {
					out = append(out, v.AsString())
				}
			}
		}
	}
	return out
}

func TestNamesResolveAndNeverBlock(t *testing.T) {
	api := &namesAPI{usage: fixtureServer(t, map[string]string{adminapi.PathUsageMessages: "usage_report_1m.json"}).Config.Handler}
	api.failing.Store(true)
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Names.Enabled = true
	cfg.Names.Interval = time.Hour
	r := startReceiver(t, cfg, func() time.Time { return fixedNow })
	r.names.refresh(context.Background(), r.client, r.logger)
	require.GreaterOrEqual(t, api.lookups.Load(), int32(3))

	// Lookups failed: metrics still carry their ids, without names.
	md, err := r.poll()
	require.NoError(t, err, "a failed lookup is not a failed scrape")
	require.Positive(t, md.DataPointCount())
	for _, attrs := range resourceAttrs(md) {
		if attrs["anthropic.workspace.id"] != "default" {
			assert.NotContains(t, attrs, "anthropic.workspace.name")
		}
		assert.NotContains(t, attrs, "anthropic.organization.id")
	}
	assert.Empty(t, pointAttr(md, "anthropic.api_key.name"))
	assert.Contains(t, pointAttr(md, "anthropic.api_key.id"), "apikey_01Rj2N8SVvo6BePZj99NhmiT")

	// The next refresh succeeds: names come back.
	api.failing.Store(false)
	r.names.refresh(context.Background(), r.client, r.logger)
	md, err = r.poll()
	require.NoError(t, err)
	names := map[string]any{}
	for _, attrs := range resourceAttrs(md) {
		assert.Equal(t, "12345678-1234-5678-1234-567812345678", attrs["anthropic.organization.id"])
		assert.Equal(t, "Example Org", attrs["anthropic.organization.name"])
		names[attrs["anthropic.workspace.id"].(string)] = attrs["anthropic.workspace.name"]
	}
	assert.Equal(t, map[string]any{"wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ": "Production", "default": "Default Workspace"}, names,
		"archived workspaces keep their names; the default workspace has one")
	assert.Contains(t, pointAttr(md, "anthropic.api_key.name"), "Developer Key", "inactive keys keep their names, found on a second page")
	assert.NotContains(t, pointAttr(md, "anthropic.api_key.name"), "console")

	// Failing again later keeps the names already known.
	api.failing.Store(true)
	r.names.refresh(context.Background(), r.client, r.logger)
	md, err = r.poll()
	require.NoError(t, err)
	assert.Contains(t, pointAttr(md, "anthropic.api_key.name"), "Developer Key")
}

func TestNamesDisabledSendsNoLookup(t *testing.T) {
	api := &namesAPI{usage: fixtureServer(t, map[string]string{adminapi.PathUsageMessages: "usage_report_1m.json"}).Config.Handler}
	srv := httptest.NewServer(api)
	defer srv.Close()
	r := startReceiver(t, testConfig(srv.URL), func() time.Time { return fixedNow })
	_, err := r.poll()
	require.NoError(t, err)
	assert.Zero(t, api.lookups.Load())
	assert.Nil(t, r.names)
}

// Item 5: an id the lookups stopped listing keeps its name for a few
// refreshes, then is forgotten; rotating ids do not grow the cache, and it
// holds at most adminapi.MaxNames names of a kind.
func TestNameCacheForgetsAndIsBounded(t *testing.T) {
	var refreshes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case adminapi.PathWorkspaces:
			n := refreshes.Add(1)
			fmt.Fprintf(w, `{"data":[{"id":"wrkspc_kept","name":"Kept"},{"id":"wrkspc_%d","name":"Rotating %d"}],"has_more":false}`, n, n)
		case adminapi.PathAPIKeys:
			_, _ = w.Write([]byte(`{"data":[],"has_more":false}`))
		default:
			_, _ = w.Write([]byte(`{"id":"org","name":"Org"}`))
		}
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Names.Enabled = true
	r := startReceiver(t, cfg, func() time.Time { return fixedNow })
	for range 100 {
		r.names.refresh(context.Background(), r.client, r.logger)
	}
	assert.Equal(t, map[string]namedID{
		"wrkspc_kept": {name: "Kept", seen: 100},
		"wrkspc_98":   {name: "Rotating 98", seen: 98},
		"wrkspc_99":   {name: "Rotating 99", seen: 99},
		"wrkspc_100":  {name: "Rotating 100", seen: 100},
	}, r.names.workspaces.byID, "an id not listed by the last forgetAfter refreshes is forgotten")

	// More ids than MaxNames: the least recently listed go first.
	n := names{byID: map[string]namedID{}}
	batch := func(prefix string) []adminapi.Workspace {
		out := make([]adminapi.Workspace, adminapi.MaxNames)
		for i := range out {
			out[i] = adminapi.Workspace{ID: fmt.Sprintf("%s%d", prefix, i), Name: "n"}
		}
		return out
	}
	idName := func(w adminapi.Workspace) (string, string) { return w.ID, w.Name }
	updateNames(&n, batch("a"), idName)
	updateNames(&n, batch("b"), idName)
	assert.Len(t, n.byID, adminapi.MaxNames)
	assert.Equal(t, "n", n.name("b0"))
	assert.Empty(t, n.name("a0"))
}
