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

// UsageReport reads every page of the Messages usage report for q and hands
// the buckets to fn in order. It stops at the first error: fn sees a whole
// report or the caller discards what it saw.
func (c *Client) UsageReport(ctx context.Context, q ReportQuery, fn func(*UsageBucket) error) error {
	return readReport(ctx, c, PathUsageMessages, q.Values(), fn)
}

// CostReport reads every page of the cost report for q.
func (c *Client) CostReport(ctx context.Context, q ReportQuery, fn func(*CostBucket) error) error {
	return readReport(ctx, c, PathCostReport, q.Values(), fn)
}

func readReport[R any](ctx context.Context, c *Client, path string, params url.Values, fn func(*Bucket[R]) error) error {
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
		if !page.HasMore {
			return nil
		}
		next := ""
		if page.NextPage != nil {
			next = *page.NextPage
		}
		switch {
		case next == "":
			return fmt.Errorf("%s: %w: has_more is true but next_page is empty", path, ErrPagination)
		case pages >= c.settings.MaxPages:
			return fmt.Errorf("%s: %w: more than max_pages (%d) pages", path, ErrPagination, c.settings.MaxPages)
		}
		if _, dup := seen[next]; dup {
			return fmt.Errorf("%s: %w: next_page cursor repeats after %d pages", path, ErrPagination, pages)
		}
		seen[next] = struct{}{}
		params.Set("page", next)
	}
}
