package adminapi

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
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
	seen := map[string]struct{}{}
	for pages := 1; ; pages++ {
		var page Page[R]
		if err := c.get(ctx, path, params, &page); err != nil {
			return err
		}
		rows := 0
		for i := range page.Data {
			rows += len(page.Data[i].Results)
			if err := fn(&page.Data[i]); err != nil {
				return err
			}
		}
		if o := c.settings.Observer; o != nil {
			o.Page(path, rows)
		}
		next, err := c.nextCursor(path, page.HasMore, page.NextPage, pages, seen)
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
		if err := c.get(ctx, PathClaudeCode, params, &page); err != nil {
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
	err := c.get(ctx, PathMe, url.Values{}, &org)
	return org, err
}

// list follows an id-cursor list endpoint (after_id = the last id) to the end.
func list[T any](ctx context.Context, c *Client, path string, params url.Values) ([]T, error) {
	params.Set("limit", "1000")
	var out []T
	seen := map[string]struct{}{}
	for pages := 1; ; pages++ {
		var page ListPage[T]
		if err := c.get(ctx, path, params, &page); err != nil {
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
