package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
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

// Values encodes the query. Times are sent in UTC, to the second.
func (q ReportQuery) Values() url.Values {
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

// PageFunc is called after the buckets of each page were handed over; more
// tells whether another page follows. Pages end on bucket boundaries, so a
// caller may commit what it has read so far.
type PageFunc func(more bool) error

// UsageReport reads every page of the Messages usage report for q and hands
// the buckets to fn in order, calling onPage (if not nil) after each page.
// It stops at the first error.
func (c *Client) UsageReport(ctx context.Context, q ReportQuery, fn func(*UsageBucket) error, onPage PageFunc) error {
	return readReport(ctx, c, PathUsageMessages, q.Values(), fn, onPage)
}

// CostReport reads every page of the cost report for q.
func (c *Client) CostReport(ctx context.Context, q ReportQuery, fn func(*CostBucket) error, onPage PageFunc) error {
	return readReport(ctx, c, PathCostReport, q.Values(), fn, onPage)
}

func readReport[R any](ctx context.Context, c *Client, path string, params url.Values, fn func(*Bucket[R]) error, onPage PageFunc) error {
	if limit := c.limitCap(path); limit > 0 {
		if q, _ := strconv.Atoi(params.Get("limit")); q == 0 || q > limit {
			params.Set("limit", strconv.Itoa(limit))
		}
	}
	seen := map[string]struct{}{}
	for pages := 1; ; pages++ {
		var meta pageMeta
		err := c.get(ctx, path, params, decodeReportPage(fn, &meta))
		if errors.Is(err, ErrBodyTooLarge) {
			// A page of a big organization can outgrow the cap: ask for
			// fewer buckets a page, from the start of the query (what fn
			// saw already it will see again, which the accounting
			// absorbs), and keep the smaller limit for this report.
			limit, _ := strconv.Atoi(params.Get("limit"))
			if limit <= 1 {
				return err
			}
			limit /= 2
			c.setLimitCap(path, limit)
			c.settings.Logger.Warn("A page was larger than max_response_bytes; reading fewer buckets a page",
				zap.String("endpoint", path), zap.Int("limit", limit))
			params.Set("limit", strconv.Itoa(limit))
			params.Del("page")
			clear(seen)
			pages = 0
			continue
		}
		if err != nil {
			return err
		}
		if o := c.settings.Observer; o != nil {
			o.Page(path, meta.rows)
		}
		next, err := c.nextCursor(path, meta.hasMore, meta.nextPage, pages, seen)
		if err != nil {
			return err
		}
		if onPage != nil {
			if err := onPage(next != ""); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		params.Set("page", next)
	}
}

// DecodeReportPage decodes one report page from r as the client does,
// handing each bucket to fn, and tells whether the page says more follow.
// It is for benchmarks that start from a page's bytes.
func DecodeReportPage[R any](r io.Reader, fn func(*Bucket[R]) error) (more bool, err error) {
	var meta pageMeta
	err = decodeReportPage(fn, &meta)(r)
	if cb := (*callbackError)(nil); errors.As(err, &cb) {
		return false, cb.err
	}
	return meta.hasMore, err
}

// pageMeta is what a report page says besides its buckets.
type pageMeta struct {
	hasMore  bool
	nextPage *string
	rows     int
}

// shapeError reports a body that is JSON but not a report page.
type shapeError struct{ msg string }

func (e *shapeError) Error() string { return e.msg }

// decodeReportPage streams a report page: each bucket of "data" is decoded
// on its own and handed to fn at once, so a page costs the memory of one
// bucket, not of the whole body.
func decodeReportPage[R any](fn func(*Bucket[R]) error, meta *pageMeta) decodeFunc {
	return func(r io.Reader) error {
		dec := json.NewDecoder(r)
		if err := expectDelim(dec, '{'); err != nil {
			return err
		}
		sawData := false
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			// Keys match as encoding/json matches them, without case.
			switch {
			case strings.EqualFold(key, "data"):
				if sawData {
					return &shapeError{`"data" appears twice`}
				}
				sawData = true
				if err := expectDelim(dec, '['); err != nil {
					return err
				}
				for dec.More() {
					var b Bucket[R]
					if err := dec.Decode(&b); err != nil {
						return err
					}
					meta.rows += len(b.Results)
					if err := fn(&b); err != nil {
						return &callbackError{err}
					}
				}
				if err := expectDelim(dec, ']'); err != nil {
					return err
				}
			case strings.EqualFold(key, "has_more"):
				if err := dec.Decode(&meta.hasMore); err != nil {
					return err
				}
			case strings.EqualFold(key, "next_page"):
				if err := dec.Decode(&meta.nextPage); err != nil {
					return err
				}
			default:
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return err
				}
			}
		}
		if err := expectDelim(dec, '}'); err != nil {
			return err
		}
		return expectEOF(dec)
	}
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

// ClaudeCodeReport reads every record of one UTC day of the Claude Code
// analytics report; the endpoint takes a single date, not a range.
func (c *Client) ClaudeCodeReport(ctx context.Context, day time.Time, fn func(*ClaudeCodeRecord) error) error {
	params := url.Values{}
	params.Set("starting_at", day.UTC().Format(time.DateOnly))
	params.Set("limit", strconv.Itoa(ClaudeCodeLimit))
	seen := map[string]struct{}{}
	for pages := 1; ; pages++ {
		var page ClaudeCodePage
		if err := c.get(ctx, PathClaudeCode, params, decodeJSON(&page)); err != nil {
			return err
		}
		for i := range page.Data {
			if err := fn(&page.Data[i]); err != nil {
				return err
			}
		}
		if o := c.settings.Observer; o != nil {
			o.Page(PathClaudeCode, len(page.Data))
		}
		next, err := c.nextCursor(PathClaudeCode, page.HasMore, page.NextPage, pages, seen)
		if next == "" || err != nil {
			return err
		}
		params.Set("page", next)
	}
}

// nextCursor checks a report page's cursor: "" when the report is done.
func (c *Client) nextCursor(path string, hasMore bool, nextPage *string, pages int, seen map[string]struct{}) (string, error) {
	if !hasMore {
		return "", nil
	}
	next := ""
	if nextPage != nil {
		next = *nextPage
	}
	switch {
	case next == "":
		return "", fmt.Errorf("%s: %w: has_more is true but next_page is empty", path, ErrPagination)
	case pages >= c.settings.MaxPages:
		return "", fmt.Errorf("%s: %w: more than max_pages (%d) pages", path, ErrPagination, c.settings.MaxPages)
	}
	if _, dup := seen[next]; dup {
		return "", fmt.Errorf("%s: %w: next_page cursor repeats after %d pages", path, ErrPagination, pages)
	}
	seen[next] = struct{}{}
	return next, nil
}

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

// list follows an id-cursor list endpoint (after_id = the last id) to the end.
func list[T any](ctx context.Context, c *Client, path string, params url.Values) ([]T, error) {
	params.Set("limit", "1000")
	var out []T
	seen := map[string]struct{}{}
	for pages := 1; ; pages++ {
		var page ListPage[T]
		if err := c.get(ctx, path, params, decodeJSON(&page)); err != nil {
			return nil, err
		}
		out = append(out, page.Data...)
		if !page.HasMore || len(page.Data) == 0 {
			return out, nil
		}
		last := ""
		if page.LastID != nil {
			last = *page.LastID
		}
		switch {
		case last == "":
			return nil, fmt.Errorf("%s: %w: has_more is true but last_id is empty", path, ErrPagination)
		case pages >= c.settings.MaxPages:
			return nil, fmt.Errorf("%s: %w: more than max_pages (%d) pages", path, ErrPagination, c.settings.MaxPages)
		}
		if _, dup := seen[last]; dup {
			return nil, fmt.Errorf("%s: %w: last_id repeats after %d pages", path, ErrPagination, pages)
		}
		seen[last] = struct{}{}
		params.Set("after_id", last)
	}
}
