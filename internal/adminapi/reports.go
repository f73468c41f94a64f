// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// ReportQuery is the query of a time-bucketed report. Arrays are sent in the
// bracket form every official example uses (group_by[]=model).
type ReportQuery struct {
	StartingAt  time.Time
	EndingAt    time.Time
	BucketWidth string
	Limit       int
	GroupBy     []string
	// Filters maps a wire name without brackets (models, api_key_ids,
	// context_window, …) to its values.
	Filters map[string][]string
}

// values encodes the query. Times are sent in UTC, to the second.
func (q ReportQuery) values() url.Values {
	v := url.Values{}
	v.Set("starting_at", q.StartingAt.UTC().Format(time.RFC3339))
	if !q.EndingAt.IsZero() {
		v.Set("ending_at", q.EndingAt.UTC().Format(time.RFC3339))
	}
	if q.BucketWidth != "" {
		v.Set("bucket_width", q.BucketWidth)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	for _, g := range q.GroupBy {
		v.Add("group_by[]", g)
	}
	for name, vals := range q.Filters {
		for _, f := range vals {
			v.Add(name+"[]", f)
		}
	}
	return v
}

// UsageReport reads the pages of the Messages usage report for q. Pages end
// on bucket boundaries. A page that outgrew max_response_bytes restarts the
// query with fewer buckets a page: the buckets yielded before come again.
func (c *Client) UsageReport(ctx context.Context, q ReportQuery) iter.Seq2[*UsagePage, error] {
	if slices.Contains(q.GroupBy, DimSpeed) || len(q.Filters["speeds"]) > 0 {
		ctx = withBeta(ctx, BetaFastMode)
	}
	return paginate(ctx, c, reportEndpoint[UsageResult](PathUsageMessages), q.values())
}

// CostReport reads the pages of the cost report for q, as UsageReport does.
func (c *Client) CostReport(ctx context.Context, q ReportQuery) iter.Seq2[*CostPage, error] {
	return paginate(ctx, c, reportEndpoint[CostResult](PathCostReport), q.values())
}

func reportEndpoint[R any](path string) endpoint[*Page[R]] {
	return endpoint[*Page[R]]{
		path: path, cursorParam: "page", cursorField: "next_page",
		decode: decodeInto[Page[R]], report: true, shrink: true,
	}
}

func (p *Page[R]) cursor() (*string, bool) { return p.NextPage, p.HasMore }

func (p *Page[R]) items() int { return len(p.Data) }

func (p *Page[R]) rows() int {
	n := 0
	for i := range p.Data {
		n += len(p.Data[i].Results)
	}
	return n
}

// shapeError reports a body that is JSON but not a page the client can
// take: a malformed page, or one past the client's bounds.
type shapeError struct{ msg string }

func (e *shapeError) Error() string { return e.msg }

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return &shapeError{fmt.Sprintf("expected %q, found %v", want, tok)}
	}
	return nil
}

// ClaudeCodeLimit is the largest page of the Claude Code report (records).
const ClaudeCodeLimit = 1000

// ClaudeCodeReport reads the pages of one UTC day of the Claude Code
// analytics report; the endpoint takes a single date, not a range. Its
// pages split a day by record, not by bucket.
func (c *Client) ClaudeCodeReport(ctx context.Context, day time.Time) iter.Seq2[*ClaudeCodePage, error] {
	params := url.Values{}
	params.Set("starting_at", day.UTC().Format(time.DateOnly))
	params.Set("limit", strconv.Itoa(ClaudeCodeLimit))
	return paginate(ctx, c, endpoint[*ClaudeCodePage]{
		path: PathClaudeCode, cursorParam: "page", cursorField: "next_page",
		decode: decodeInto[ClaudeCodePage], report: true, capItems: true,
	}, params)
}

func (p *ClaudeCodePage) cursor() (*string, bool) { return p.NextPage, p.HasMore }

func (p *ClaudeCodePage) rows() int { return len(p.Data) }

// decodeInto decodes one JSON value into a new T, as encoding/json would
// but within the body's bounds (bounds.go): a page an item at a time, a
// bucket a row at a time (pageDecoder.into); nothing may follow the value.
func decodeInto[T any](r io.Reader) (*T, error) {
	v := new(T)
	d := newPageDecoder(r)
	if err := d.into(reflect.ValueOf(v).Elem(), 0); err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return v, nil
}

// listPage is a page of an id-cursor list endpoint (workspaces, API keys,
// users). FirstID and LastID are null when Data is empty.
type listPage[T any] struct {
	Data    []T     `json:"data"`
	HasMore bool    `json:"has_more"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
}

// cursor: an empty page ends the list whatever has_more says, since it has
// no last id to continue after.
func (p *listPage[T]) cursor() (*string, bool) { return p.LastID, p.HasMore && len(p.Data) > 0 }

func (p *listPage[T]) rows() int { return len(p.Data) }

// What one lookup keeps, whatever the API lists: at most MaxNames items,
// each copied out of its page with its strings bounded; an item whose id is
// longer than MaxNameBytes is not kept (cut, it would match no report's id)
// and a longer name is cut.
const (
	MaxNames     = 50_000
	MaxNameBytes = 256
)

// ListWorkspaces lists every workspace, archived ones included: of each, its
// id, name, creation and archival time.
func (c *Client) ListWorkspaces(ctx context.Context) ([]Workspace, error) {
	return listBounded(ctx, c, PathWorkspaces, url.Values{"include_archived": {"true"}}, func(w *Workspace) (Workspace, bool) {
		return Workspace{ID: w.ID, Name: bounded(w.Name), CreatedAt: w.CreatedAt, ArchivedAt: w.ArchivedAt}, len(w.ID) <= MaxNameBytes
	})
}

// ListAPIKeys lists every API key, whatever its status: of each, its id,
// name, status, creation time and workspace.
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	return listBounded(ctx, c, PathAPIKeys, url.Values{}, func(k *APIKey) (APIKey, bool) {
		kept := APIKey{ID: k.ID, Name: bounded(k.Name), Status: bounded(k.Status), CreatedAt: k.CreatedAt}
		if k.WorkspaceID != nil {
			ws := bounded(*k.WorkspaceID)
			kept.WorkspaceID = &ws
		}
		return kept, len(k.ID) <= MaxNameBytes
	})
}

// bounded is s cut to MaxNameBytes, in a string of its own: a cut of a
// long string would keep all of it alive.
func bounded(s string) string { return strings.Clone(truncate(s, MaxNameBytes)) }

// Organization reads the organization the admin key belongs to, its id and
// name bounded as a lookup's names are.
func (c *Client) Organization(ctx context.Context) (Organization, error) {
	var org Organization
	if err := c.get(ctx, PathMe, url.Values{}, decodeJSON(&org)); err != nil {
		return Organization{}, err
	}
	if len(org.ID) > MaxNameBytes {
		org.ID = ""
	}
	return Organization{ID: org.ID, Name: bounded(org.Name), Type: bounded(org.Type)}, nil
}

func listEndpoint[T any](path string) endpoint[*listPage[T]] {
	return endpoint[*listPage[T]]{path: path, cursorParam: "after_id", cursorField: "last_id", decode: decodeInto[listPage[T]], capItems: true}
}

// listBounded follows an id-cursor list endpoint (after_id = the last id)
// to the end, or until MaxNames items are kept, keeping of each page only
// what keep copies out of its items.
func listBounded[T any](ctx context.Context, c *Client, path string, params url.Values, keep func(*T) (T, bool)) ([]T, error) {
	params.Set("limit", strconv.Itoa(listLimit))
	var out []T
	for p, err := range paginate(ctx, c, listEndpoint[T](path), params) {
		if err != nil {
			return nil, err
		}
		for i := range p.Data {
			item, ok := keep(&p.Data[i])
			if !ok {
				continue
			}
			if len(out) == MaxNames {
				c.settings.Logger.Warn("The lookup lists more items than are kept; the others are reported by id", zap.String("endpoint", path), zap.Int("kept", MaxNames))
				return out, nil
			}
			out = append(out, item)
		}
	}
	return out, nil
}

// listLimit is the largest page of the list endpoints.
const listLimit = 1000
