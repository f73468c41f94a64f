// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"net/url"
	"strconv"

	"go.uber.org/zap"
)

// cursorPage is a page as the paginator sees it.
type cursorPage interface {
	// cursor is where the next page starts; more is false on the last page.
	cursor() (next *string, more bool)
	// rows is what Observer.Page counts.
	rows() int
}

// endpoint is how one paginated endpoint is read.
type endpoint[P cursorPage] struct {
	path string
	// cursorParam carries the cursor to the next request ("page" or
	// "after_id"); cursorField names the field it is read from, for errors.
	cursorParam, cursorField string
	decode                   func(io.Reader) (P, error)
	// report: its pages are counted by Observer.Page.
	report bool
	// shrink: a page over max_response_bytes halves limit and restarts
	// the query. Only for bucketed reports, whose consumers take a bucket
	// read twice as the same bucket.
	shrink bool
	// capItems: a page holds at most the limit asked of items.
	capItems bool
}

// shrinkFloor: a query's limit is halved at most down to this fraction of
// the limit asked (1440 → 90 one-minute buckets, 168 → 10 hours, 31 → 1
// day). A page of that many buckets still over max_response_bytes is an
// error: another halving would only read the cap again.
const shrinkFloor = 16

// paginate reads every page of a query, in order. Each page is yielded once
// it is fully decoded and its cursor checked; on the first error the
// iterator yields (nil, err) and stops; when the consumer stops, no further
// request is sent. Ranging again reads the query again from its first page.
//
// After a page outgrew max_response_bytes (shrink endpoints only), the query
// restarts from its first page with half the limit, down to the limit asked
// over shrinkFloor: the pages yielded before are yielded again, with fewer
// buckets each. The receiver's accounting takes a bucket read again as a
// restatement, so it absorbs the repetition. The smaller limit is kept for
// the endpoint, and doubled again after each query read to its end whose
// pages say that twice as many buckets would fit: one oversized episode does
// not slow the client for good.
func paginate[P cursorPage](ctx context.Context, c *Client, ep endpoint[P], query url.Values) iter.Seq2[P, error] {
	return func(yield func(P, error) bool) {
		var none P
		params := maps.Clone(query)
		if params == nil {
			params = url.Values{}
		}
		asked, _ := strconv.Atoi(params.Get("limit"))
		if ep.shrink {
			if limit := c.limitCap(ep.path); limit > 0 && (asked == 0 || asked > limit) {
				params.Set("limit", strconv.Itoa(limit))
			}
		}
		seen := map[string]struct{}{}
		var perItem float64 // the largest bytes per bucket of the query's pages
		for pages := 1; ; pages++ {
			var page P
			limit, _ := strconv.Atoi(params.Get("limit"))
			err := c.get(ctx, ep.path, params, func(r io.Reader) (err error) {
				b := bodyOf(r)
				if ep.capItems {
					b.maxItems = limit
				}
				if page, err = ep.decode(r); err == nil {
					err = b.check(page)
				}
				if n, ok := any(page).(interface{ items() int }); err == nil && ok && n.items() > 0 {
					perItem = max(perItem, float64(b.n)/float64(n.items()))
				}
				return err
			})
			if ep.shrink && errors.Is(err, ErrBodyTooLarge) {
				if limit/2 < max(1, asked/shrinkFloor) {
					yield(none, fmt.Errorf("%w: a page of %d buckets is still over it; raise max_response_bytes", err, limit))
					return
				}
				limit /= 2
				c.setLimitCap(ep.path, limit)
				c.settings.Logger.Warn("A page was larger than max_response_bytes; reading fewer buckets a page",
					zap.String("endpoint", ep.path), zap.Int("limit", limit))
				params.Set("limit", strconv.Itoa(limit))
				params.Del(ep.cursorParam)
				clear(seen)
				pages, perItem = 0, 0
				continue
			}
			var next string
			if err == nil {
				if o := c.settings.Observer; o != nil && ep.report {
					o.Page(ep.path, page.rows())
				}
				next, err = c.nextCursor(ep.path, ep.cursorField, page, pages, seen)
			}
			if err != nil {
				yield(none, err)
				return
			}
			if next == "" && ep.shrink {
				c.growLimit(ep.path, asked, perItem)
			}
			if !yield(page, nil) || next == "" {
				return
			}
			params.Set(ep.cursorParam, next)
		}
	}
}

// growLimit doubles the endpoint's reduced limit after a query read to its
// end, when its pages (perItem bytes a bucket at most) say that twice as
// many buckets a page would still fit max_response_bytes; back at the limit
// asked, the endpoint has no reduced limit any more.
func (c *Client) growLimit(path string, asked int, perItem float64) {
	limit := c.limitCap(path)
	if limit == 0 {
		return
	}
	next := 2 * limit
	if asked > 0 {
		next = min(next, asked)
	}
	if float64(next)*perItem > float64(c.settings.MaxResponseBytes) {
		return
	}
	if next == asked {
		next = 0
	}
	c.setLimitCap(path, next)
}

// nextCursor checks a page's cursor: "" when the query is done.
func (c *Client) nextCursor(path, field string, page cursorPage, pages int, seen map[string]struct{}) (string, error) {
	cur, more := page.cursor()
	if !more {
		return "", nil
	}
	next := ""
	if cur != nil {
		next = *cur
	}
	switch {
	case next == "":
		return "", fmt.Errorf("%s: %w: has_more is true but %s is empty", path, ErrPagination, field)
	case len(next) > MaxCursorBytes:
		return "", fmt.Errorf("%s: %w: %s is %d bytes, more than %d", path, ErrPagination, field, len(next), MaxCursorBytes)
	case pages >= c.settings.MaxPages:
		return "", fmt.Errorf("%s: %w: more than max_pages (%d) pages", path, ErrPagination, c.settings.MaxPages)
	}
	if _, dup := seen[next]; dup {
		return "", fmt.Errorf("%s: %w: %s repeats after %d pages", path, ErrPagination, field, pages)
	}
	seen[next] = struct{}{}
	return next, nil
}
