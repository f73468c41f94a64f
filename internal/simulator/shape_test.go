// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

var usageItemKeys = []string{"uncached_input_tokens", "cache_creation", "cache_read_input_tokens", "output_tokens", "server_tool_use",
	"api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo", "account_id", "service_account_id"}

var costItemKeys = []string{"currency", "amount", "workspace_id", "description", "cost_type", "context_window", "model", "service_tier", "token_type", "inference_geo"}

// rawPage is a report page decoded loosely, to see keys and nulls.
type rawPage struct {
	Data []struct {
		StartingAt string                       `json:"starting_at"`
		EndingAt   string                       `json:"ending_at"`
		Results    []map[string]json.RawMessage `json:"results"`
	} `json:"data"`
}

// topKeys lists the top-level keys of a JSON object.
func topKeys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &m))
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func requireKeys(t *testing.T, item map[string]json.RawMessage, keys []string, extra ...string) {
	t.Helper()
	want := append(append([]string{}, keys...), extra...)
	got := make([]string, 0, len(item))
	for k := range item {
		got = append(got, k)
	}
	require.ElementsMatch(t, want, got)
}

func isNull(m json.RawMessage) bool { return string(m) == "null" }

func TestUsageShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	day := dayStart(testStart).Add(-24 * time.Hour)
	base := vals("starting_at", rfc(day), "ending_at", rfc(day.Add(24*time.Hour)), "bucket_width", "1h")

	t.Run("ungrouped", func(t *testing.T) {
		r := e.getOK(adminapi.PathUsageMessages, base)
		var p rawPage
		require.NoError(t, json.Unmarshal(r.Body, &p))
		require.ElementsMatch(t, []string{"data", "has_more", "next_page"}, topKeys(t, r.Body))
		require.Len(t, p.Data, 24)
		nonEmpty := 0
		for i, b := range p.Data {
			assert.Equal(t, rfc(day.Add(time.Duration(i)*time.Hour)), b.StartingAt)
			assert.Equal(t, rfc(day.Add(time.Duration(i+1)*time.Hour)), b.EndingAt)
			require.NotNil(t, b.Results, "results must be [] not null or absent")
			require.LessOrEqual(t, len(b.Results), 1)
			for _, it := range b.Results {
				nonEmpty++
				requireKeys(t, it, usageItemKeys)
				for _, k := range usageItemKeys[5:] {
					assert.True(t, isNull(it[k]), "%s must be null when not grouped", k)
				}
				var cc map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(it["cache_creation"], &cc))
				require.Contains(t, cc, "ephemeral_1h_input_tokens")
				require.Contains(t, cc, "ephemeral_5m_input_tokens")
				var stu map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(it["server_tool_use"], &stu))
				require.Contains(t, stu, "web_search_requests")
			}
		}
		require.Greater(t, nonEmpty, 10)
		p2 := decode[adminapi.UsagePage](t, r.Body)
		require.Len(t, p2.Data, 24)
	})

	t.Run("grouped nulls", func(t *testing.T) {
		q := cloneValues(base)
		for _, g := range []string{"workspace_id", "api_key_id", "model", "inference_geo", "account_id", "service_tier", "context_window", "service_account_id"} {
			q.Add("group_by[]", g)
		}
		q.Set("ending_at", rfc(testStart))
		q.Set("starting_at", rfc(e.sim.Origin()))
		q.Set("bucket_width", "1d")
		buckets := e.readAllUsage(q)
		var defWS, namedWS, workbench, withKey, notAvail, geo, account, serviceAccount int
		for _, b := range buckets {
			for _, r := range b.Results {
				require.NotNil(t, r.Model)
				require.NotNil(t, r.ServiceTier)
				require.NotNil(t, r.ContextWindow)
				require.NotNil(t, r.InferenceGeo)
				require.Nil(t, r.Speed, "no speed without the beta header")
				if r.ServiceAccountID != nil {
					serviceAccount++
					require.Regexp(t, `^svac_01`, *r.ServiceAccountID)
					require.Nil(t, r.APIKeyID, "federated use has no API key")
					require.Nil(t, r.AccountID, "nor a user account")
					continue
				}
				if r.WorkspaceID == nil {
					defWS++
				} else {
					namedWS++
					require.Regexp(t, `^wrkspc_01`, *r.WorkspaceID)
				}
				if r.APIKeyID == nil {
					workbench++
					require.NotNil(t, r.AccountID, "Workbench use carries the user's account_id")
				} else {
					withKey++
					require.Regexp(t, `^apikey_01`, *r.APIKeyID)
					require.Nil(t, r.AccountID)
				}
				if r.AccountID != nil {
					account++
				}
				m := lookupModel(*r.Model)
				if m.Geo {
					geo++
					require.Contains(t, []string{"global", "us"}, *r.InferenceGeo)
				} else {
					notAvail++
					require.Equal(t, "not_available", *r.InferenceGeo, "model %s", *r.Model)
				}
			}
		}
		for name, n := range map[string]int{"default ws": defWS, "named ws": namedWS, "workbench": workbench, "keys": withKey, "not_available": notAvail, "geo": geo, "account": account, "service account": serviceAccount} {
			require.Greater(t, n, 0, name)
		}
	})

	t.Run("speed needs beta", func(t *testing.T) {
		r := e.getOK(adminapi.PathUsageMessages, base, "anthropic-beta", "other-beta, "+betaFastMode)
		var p rawPage
		require.NoError(t, json.Unmarshal(r.Body, &p))
		n := 0
		for _, b := range p.Data {
			for _, it := range b.Results {
				requireKeys(t, it, usageItemKeys, "speed")
				require.True(t, isNull(it["speed"]))
				n++
			}
		}
		require.Greater(t, n, 0)
		q := cloneValues(base)
		q.Set("group_by[]", "speed")
		q.Set("starting_at", rfc(e.sim.Origin()))
		q.Set("bucket_width", "1d")
		q.Set("ending_at", rfc(testStart))
		speeds := map[string]bool{}
		for _, b := range e.readAllUsage(q, "anthropic-beta", betaFastMode) {
			for _, r := range b.Results {
				require.NotNil(t, r.Speed)
				speeds[*r.Speed] = true
			}
		}
		require.Equal(t, map[string]bool{"standard": true, "fast": true}, speeds)
	})

	t.Run("filters", func(t *testing.T) {
		q := cloneValues(base)
		q.Set("starting_at", rfc(e.sim.Origin()))
		q.Set("ending_at", rfc(testStart))
		q.Set("bucket_width", "1d")
		q["group_by[]"] = []string{"model", "inference_geo", "service_tier", "workspace_id"}
		q["models[]"] = []string{"claude-haiku-4-5", "claude-sonnet-4-6"}
		q["service_tiers"] = []string{"standard"} // bare form
		n := 0
		for _, b := range e.readAllUsage(q) {
			for _, r := range b.Results {
				n++
				require.Contains(t, []string{"claude-haiku-4-5", "claude-sonnet-4-6"}, *r.Model)
				require.Equal(t, "standard", *r.ServiceTier)
			}
		}
		require.Greater(t, n, 0)
		q2 := cloneValues(q)
		delete(q2, "models[]")
		delete(q2, "service_tiers")
		q2["inference_geos[]"] = []string{"not_available"}
		n = 0
		for _, b := range e.readAllUsage(q2) {
			for _, r := range b.Results {
				n++
				require.Equal(t, "not_available", *r.InferenceGeo)
				require.False(t, lookupModel(*r.Model).Geo)
			}
		}
		require.Greater(t, n, 0)
	})
}

func TestCostShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	day := dayStart(testStart).Add(-24 * time.Hour)
	amount := regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$`)
	q := vals("starting_at", rfc(day), "ending_at", rfc(day.Add(24*time.Hour)))

	r := e.getOK(adminapi.PathCostReport, q)
	var p rawPage
	require.NoError(t, json.Unmarshal(r.Body, &p))
	require.Len(t, p.Data, 1)
	require.Len(t, p.Data[0].Results, 1, "ungrouped: one row")
	it := p.Data[0].Results[0]
	requireKeys(t, it, costItemKeys)
	for _, k := range costItemKeys[2:] {
		require.True(t, isNull(it[k]), "%s must be null when not grouped", k)
	}

	q["group_by[]"] = []string{"workspace_id", "description"}
	r = e.getOK(adminapi.PathCostReport, q)
	require.NoError(t, json.Unmarshal(r.Body, &p))
	for _, it := range p.Data[0].Results {
		requireKeys(t, it, costItemKeys)
	}
	page := decode[adminapi.CostPage](t, r.Body)
	kinds := map[string]int{}
	descs := map[string]string{}
	var defWS int
	for _, row := range page.Data[0].Results {
		require.Equal(t, "USD", row.Currency)
		require.Regexp(t, amount, string(row.Amount))
		require.NotNil(t, row.Description)
		require.NotNil(t, row.CostType)
		kinds[*row.CostType]++
		if row.WorkspaceID == nil {
			defWS++
		}
		switch *row.CostType {
		case "tokens":
			require.NotNil(t, row.Model)
			require.NotNil(t, row.TokenType)
			require.NotNil(t, row.ServiceTier)
			require.NotNil(t, row.ContextWindow)
			require.NotNil(t, row.InferenceGeo)
			require.Contains(t, []string{"standard", "batch"}, *row.ServiceTier)
			require.Contains(t, tokenTypes[:], *row.TokenType)
			require.Regexp(t, `^Claude .+ Usage - (Input Tokens|Output Tokens|Input Tokens, Cache Hit|Input Tokens, Cache Write|Input Tokens, 1h Cache Write)( \(.+\))?$`, *row.Description)
			sig := *row.Model + "|" + *row.TokenType + "|" + *row.ServiceTier + "|" + *row.ContextWindow + "|" + *row.InferenceGeo
			if prev, ok := descs[*row.Description]; ok {
				require.Equal(t, prev, sig, "one description, one line item")
			}
			descs[*row.Description] = sig
		case "web_search":
			require.Equal(t, "Web Search Usage", *row.Description)
			require.Nil(t, row.Model)
			require.Nil(t, row.TokenType)
			require.Nil(t, row.ServiceTier)
			require.Nil(t, row.ContextWindow)
		case "code_execution":
			require.Equal(t, "Code Execution Usage", *row.Description)
			require.Nil(t, row.Model)
			require.Nil(t, row.TokenType)
		default:
			t.Fatalf("unexpected cost_type %q", *row.CostType)
		}
	}
	require.Greater(t, kinds["tokens"], 10)
	require.Greater(t, kinds["web_search"], 0)
	require.Greater(t, kinds["code_execution"], 0)
	require.Greater(t, defWS, 0)
	require.Contains(t, descs, "Claude Sonnet 4.6 Usage - Input Tokens")

	// speed only with the beta header.
	r = e.getOK(adminapi.PathCostReport, q, "anthropic-beta", betaFastMode)
	require.NoError(t, json.Unmarshal(r.Body, &p))
	for _, it := range p.Data[0].Results {
		requireKeys(t, it, costItemKeys, "speed")
	}
}

func TestFormatNanoCents(t *testing.T) {
	t.Parallel()
	for nc, want := range map[int64]string{
		0: "0", 100 * nanoPerCent: "100", 1046_123_450_000: "1046.12345", 15_000: "0.000015", 1: "0.000000001", 2_500_000_000: "2.5",
	} {
		require.Equal(t, want, FormatNanoCents(nc))
		back, ok := ParseCents(want)
		require.True(t, ok)
		require.Equal(t, nc, back)
	}
	v, ok := ParseCents("1046.123450")
	require.True(t, ok)
	require.Equal(t, int64(1046_123_450_000), v)
	_, ok = ParseCents("1.0000000001")
	require.False(t, ok)
}

func TestClaudeCodeShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	day := dayStart(testStart).Add(-48 * time.Hour)
	r := e.getOK(adminapi.PathClaudeCode, vals("starting_at", day.Format(time.DateOnly), "limit", "1000"))
	var raw struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &raw))
	require.ElementsMatch(t, []string{"data", "has_more", "next_page"}, topKeys(t, r.Body))
	require.NotEmpty(t, raw.Data)
	for _, rec := range raw.Data {
		requireKeys(t, rec, []string{"date", "actor", "organization_id", "customer_type", "subscription_type", "terminal_type", "core_metrics", "tool_actions", "model_breakdown"})
		require.True(t, isNull(rec["subscription_type"]))
	}
	p := decode[adminapi.ClaudeCodePage](t, r.Body)
	types := map[string]bool{}
	keyNames := map[string]bool{}
	for _, k := range e.sim.org.Keys {
		keyNames[k.Name] = true
	}
	absentTool := false
	for _, rec := range p.Data {
		require.Equal(t, rfc(day), rec.Date)
		d, err := adminapi.ParseDate(rec.Date)
		require.NoError(t, err)
		require.Equal(t, day, d)
		require.Equal(t, e.sim.OrganizationID(), rec.OrganizationID)
		require.Equal(t, "api", rec.CustomerType)
		require.NotEmpty(t, rec.TerminalType)
		types[rec.Actor.Type] = true
		switch rec.Actor.Type {
		case "user_actor":
			require.Regexp(t, `@example\.com$`, rec.Actor.EmailAddress)
			require.Empty(t, rec.Actor.APIKeyName)
		case "api_actor":
			require.True(t, keyNames[rec.Actor.APIKeyName], "api_key_name %q is an org key name", rec.Actor.APIKeyName)
			require.Empty(t, rec.Actor.EmailAddress)
		default:
			t.Fatalf("actor type %q", rec.Actor.Type)
		}
		require.Greater(t, rec.CoreMetrics.NumSessions, int64(0))
		for k := range rec.ToolActions {
			require.Contains(t, ccTools[:], k)
		}
		if len(rec.ToolActions) < 4 {
			absentTool = true
		}
		require.NotEmpty(t, rec.ModelBreakdown)
		for _, m := range rec.ModelBreakdown {
			require.Equal(t, "USD", m.EstimatedCost.Currency)
			require.GreaterOrEqual(t, m.EstimatedCost.Amount, int64(0))
			require.Greater(t, m.Tokens.Output, int64(0))
		}
	}
	require.True(t, types["user_actor"] && types["api_actor"], "both actor types: %v", types)
	require.True(t, absentTool, "some record omits a tool")
	// estimated_cost.amount is a JSON integer.
	require.Regexp(t, `"estimated_cost":\{"currency":"USD","amount":[0-9]+\}`, string(r.Body))
}

func TestListShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})

	r := e.getOK(adminapi.PathWorkspaces, nil)
	ws := decode[listPage[adminapi.Workspace]](t, r.Body)
	require.Len(t, ws.Data, 3, "named workspaces; archived excluded by default")
	for _, w := range ws.Data {
		require.Regexp(t, `^wrkspc_01[1-9A-HJ-NP-Za-km-z]{22}$`, w.ID)
		require.Equal(t, "workspace", w.Type)
		require.Nil(t, w.ArchivedAt)
		require.Regexp(t, `^#[0-9A-F]{6}$`, w.DisplayColor)
	}
	require.Equal(t, ws.Data[0].ID, *ws.FirstID)
	require.Equal(t, ws.Data[2].ID, *ws.LastID)
	var raw struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &raw))
	requireKeys(t, raw.Data[0], []string{"id", "type", "name", "created_at", "archived_at", "display_color", "tags", "data_residency"})

	all := decode[listPage[adminapi.Workspace]](t, e.getOK(adminapi.PathWorkspaces, vals("include_archived", "true")).Body)
	require.Len(t, all.Data, 4)
	archived := 0
	for _, w := range all.Data {
		if w.ArchivedAt != nil {
			archived++
		}
	}
	require.Equal(t, 1, archived)

	r = e.getOK(adminapi.PathAPIKeys, vals("limit", "1000"))
	keys := decode[listPage[adminapi.APIKey]](t, r.Body)
	require.Len(t, keys.Data, 5*2, "2 keys in each of default + 3 named + archived workspace")
	statuses := map[string]int{}
	nullWS := 0
	for _, k := range keys.Data {
		require.Regexp(t, `^apikey_01`, k.ID)
		require.Equal(t, "api_key", k.Type)
		require.NotEmpty(t, k.Name)
		require.NotNil(t, k.PartialKeyHint)
		statuses[k.Status]++
		if k.WorkspaceID == nil {
			nullWS++
		}
	}
	require.Equal(t, 2, nullWS, "default-workspace keys have workspace_id null")
	require.Equal(t, 1, statuses["inactive"])
	require.Equal(t, 1, statuses["expired"])
	require.Equal(t, 2, statuses["archived"])
	var rawKeys struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &rawKeys))
	requireKeys(t, rawKeys.Data[0], []string{"id", "type", "name", "status", "created_at", "created_by", "expires_at", "partial_key_hint", "workspace_id"})

	inactive := decode[listPage[adminapi.APIKey]](t, e.getOK(adminapi.PathAPIKeys, vals("status", "inactive")).Body)
	require.Len(t, inactive.Data, 1)
	// The inactive key still has usage history.
	hist := e.sim.TruthUsage(TruthQuery{StartingAt: e.sim.Origin(), EndingAt: testStart, Filters: map[string][]string{"api_key_ids": {inactive.Data[0].ID}}})
	require.Len(t, hist, 1)
	require.Greater(t, hist[0].UncachedInputTokens, int64(0))
	// ... which stops when it was deactivated; likewise for expired keys.
	for _, st := range []string{"inactive", "expired", "archived"} {
		var ids []string
		for _, k := range decode[listPage[adminapi.APIKey]](t, e.getOK(adminapi.PathAPIKeys, vals("status", st)).Body).Data {
			ids = append(ids, k.ID)
		}
		require.NotEmpty(t, ids)
		require.Empty(t, e.sim.TruthUsage(TruthQuery{StartingAt: testStart.Add(-24 * time.Hour), EndingAt: testStart, Filters: map[string][]string{"api_key_ids": ids}}), st)
	}
	wsKeys := decode[listPage[adminapi.APIKey]](t, e.getOK(adminapi.PathAPIKeys, vals("workspace_id", ws.Data[0].ID)).Body)
	require.Len(t, wsKeys.Data, 2)
	for _, k := range wsKeys.Data {
		require.Equal(t, ws.Data[0].ID, *k.WorkspaceID)
	}

	users := decode[listPage[adminapi.User]](t, e.getOK(adminapi.PathUsers, nil).Body)
	require.Len(t, users.Data, 5)
	for _, u := range users.Data {
		require.Regexp(t, `^user_01`, u.ID)
		require.Equal(t, "user", u.Type)
		require.Contains(t, []string{"user", "developer", "billing", "admin", "claude_code_user"}, u.Role)
	}
	one := decode[listPage[adminapi.User]](t, e.getOK(adminapi.PathUsers, vals("email", users.Data[1].Email)).Body)
	require.Len(t, one.Data, 1)
	require.Equal(t, users.Data[1].ID, one.Data[0].ID)

	r = e.getOK(adminapi.PathUsers, vals("email", "nobody@example.org"))
	var empty map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Body, &empty))
	require.JSONEq(t, `{"data":[],"has_more":false,"first_id":null,"last_id":null}`, string(r.Body))

	me := decode[adminapi.Organization](t, e.getOK(adminapi.PathMe, nil).Body)
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, me.ID)
	require.Equal(t, "organization", me.Type)
	require.NotEmpty(t, me.Name)

	k := decode[adminapi.APIKey](t, e.getOK(adminapi.PathAPIKeys+"/"+keys.Data[0].ID, nil).Body)
	require.Equal(t, keys.Data[0].ID, k.ID)
	requireError(t, e.get(adminapi.PathWorkspaces+"/wrkspc_nope", nil), 404, "not_found_error", "")
}

// TestReferenceExamples decodes the reference's illustrative bodies into the
// receiver's models and compares their key sets with the simulator's output.
func TestReferenceExamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		return b
	}
	day := dayStart(testStart).Add(-24 * time.Hour)

	t.Run("usage", func(t *testing.T) {
		ex := read("usage_report_example.json")
		p := decode[adminapi.UsagePage](t, ex)
		require.Len(t, p.Data, 2)
		require.Equal(t, int64(12000), p.Data[0].Results[0].CacheCreation.Ephemeral5mInputTokens)
		require.Nil(t, p.Data[0].Results[1].APIKeyID)
		require.NotNil(t, p.NextPage)
		require.Empty(t, p.Data[1].Results)
		q := vals("starting_at", rfc(day.Add(10*time.Hour)), "bucket_width", "1h", "limit", "2")
		q["group_by[]"] = []string{"model", "workspace_id", "api_key_id"}
		got := e.getOK(adminapi.PathUsageMessages, q).Body
		require.Equal(t, keyPaths(t, ex), keyPaths(t, got))
	})
	t.Run("cost", func(t *testing.T) {
		ex := read("cost_report_example.json")
		p := decode[adminapi.CostPage](t, ex)
		require.Equal(t, adminapi.Decimal("1046.123450"), p.Data[0].Results[0].Amount)
		require.Nil(t, p.NextPage)
		q := vals("starting_at", rfc(day), "ending_at", rfc(day.Add(24*time.Hour)))
		q["group_by[]"] = []string{"workspace_id", "description"}
		got := e.getOK(adminapi.PathCostReport, q).Body
		require.Equal(t, keyPaths(t, ex), keyPaths(t, got))
	})
	t.Run("claude_code", func(t *testing.T) {
		ex := read("claude_code_example.json")
		p := decode[adminapi.ClaudeCodePage](t, ex)
		require.Len(t, p.Data, 2)
		require.Equal(t, "ci-bot-key", p.Data[1].Actor.APIKeyName)
		require.Equal(t, int64(412), p.Data[0].ModelBreakdown[0].EstimatedCost.Amount)
		got := e.getOK(adminapi.PathClaudeCode, vals("starting_at", day.Format(time.DateOnly), "limit", "1000")).Body
		require.Equal(t, keyPaths(t, ex, "tool_actions"), keyPaths(t, got, "tool_actions"))
	})
	t.Run("workspaces", func(t *testing.T) {
		ex := read("workspaces_example.json")
		p := decode[listPage[adminapi.Workspace]](t, ex)
		require.Equal(t, "Production", p.Data[0].Name)
		got := e.getOK(adminapi.PathWorkspaces, nil).Body
		require.Equal(t, keyPaths(t, ex, "tags"), keyPaths(t, got, "tags"))
	})
	t.Run("api_keys", func(t *testing.T) {
		ex := read("api_keys_example.json")
		p := decode[listPage[adminapi.APIKey]](t, ex)
		require.Equal(t, "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ", *p.Data[0].WorkspaceID)
		got := e.getOK(adminapi.PathAPIKeys, vals("status", "expired")).Body
		require.Equal(t, keyPaths(t, ex), keyPaths(t, got))
	})
	t.Run("error", func(t *testing.T) {
		ex := read("error_example.json")
		env := decode[errorEnvelope](t, ex)
		require.Equal(t, "not_found_error", env.Error.Type)
		got := e.get("/v1/organizations/nope", nil).Body
		require.Equal(t, keyPaths(t, ex), keyPaths(t, got))
	})
}
