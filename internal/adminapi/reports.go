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
	"slices"
	"strconv"
	"strings"
	"time"
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
		decode: decodeReportPage[R], report: true, shrink: true,
	}
}

func (p *Page[R]) cursor() (*string, bool) { return p.NextPage, p.HasMore }

func (p *Page[R]) rows() int {
	n := 0
	for i := range p.Data {
		n += len(p.Data[i].Results)
	}
	return n
}

// shapeError reports a body that is JSON but not a report page.
type shapeError struct{ msg string }

func (e *shapeError) Error() string { return e.msg }

// decodeReportPage decodes a whole report page, more strictly than
// encoding/json would: a second "data" array is a malformed page, not one to
// merge or overwrite, and nothing may follow the page. Keys match as
// encoding/json matches them, without case. Buckets are decoded one at a
// time into the page, so the decoder buffers one bucket, not the whole body
// as json.Decoder.Decode does (3.76 times the body at the largest page,
// BENCHMARKS.md).
func decodeReportPage[R any](r io.Reader) (*Page[R], error) {
	p := &Page[R]{}
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	sawData := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		switch {
		case strings.EqualFold(key, "data"):
			if sawData {
				return nil, &shapeError{`"data" appears twice`}
			}
			sawData = true
			if err := expectDelim(dec, '['); err != nil {
				return nil, err
			}
			for dec.More() {
				p.Data = append(p.Data, Bucket[R]{})
				if err := dec.Decode(&p.Data[len(p.Data)-1]); err != nil {
					return nil, err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, err
			}
		case strings.EqualFold(key, "has_more"):
			if err := dec.Decode(&p.HasMore); err != nil {
				return nil, err
			}
		case strings.EqualFold(key, "next_page"):
			if err := dec.Decode(&p.NextPage); err != nil {
				return nil, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if err := expectEOF(dec); err != nil {
		return nil, err
	}
	return p, nil
}

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
		decode: decodeInto[ClaudeCodePage], report: true,
	}, params)
}

func (p *ClaudeCodePage) cursor() (*string, bool) { return p.NextPage, p.HasMore }

func (p *ClaudeCodePage) rows() int { return len(p.Data) }

// decodeInto decodes one JSON value into a new T.
func decodeInto[T any](r io.Reader) (*T, error) {
	v := new(T)
	if err := decodeJSON(v)(r); err != nil {
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

// ListWorkspaces lists every workspace, archived ones included.
func (c *Client) ListWorkspaces(ctx context.Context) ([]Workspace, error) {
	return list[Workspace](ctx, c, PathWorkspaces, url.Values{"include_archived": {"true"}})
}

// ListAPIKeys lists every API key, whatever its status.
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	return list[APIKey](ctx, c, PathAPIKeys, url.Values{})
}

// Organization reads the organization the admin key belongs to.
func (c *Client) Organization(ctx context.Context) (Organization, error) {
	var org Organization
	err := c.get(ctx, PathMe, url.Values{}, decodeJSON(&org))
	return org, err
}

func listEndpoint[T any](path string) endpoint[*listPage[T]] {
	return endpoint[*listPage[T]]{path: path, cursorParam: "after_id", cursorField: "last_id", decode: decodeInto[listPage[T]]}
}

// list follows an id-cursor list endpoint (after_id = the last id) to the end.
func list[T any](ctx context.Context, c *Client, path string, params url.Values) ([]T, error) {
	params.Set("limit", "1000")
	var out []T
	for p, err := range paginate(ctx, c, listEndpoint[T](path), params) {
		if err != nil {
			return nil, err
		}
		out = append(out, p.Data...)
	}
	return out, nil
}
