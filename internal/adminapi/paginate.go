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
}

// paginate reads every page of a query, in order. Each page is yielded once
// it is fully decoded and its cursor checked; on the first error the
// iterator yields (nil, err) and stops; when the consumer stops, no further
// request is sent. Ranging again reads the query again from its first page.
//
// After a page outgrew max_response_bytes (shrink endpoints only), the query
// restarts from its first page with half the limit: the pages yielded before
// are yielded again, with fewer buckets each. The receiver's accounting
// takes a bucket read again as a restatement, so it absorbs the repetition.
func paginate[P cursorPage](ctx context.Context, c *Client, ep endpoint[P], query url.Values) iter.Seq2[P, error] {
	return func(yield func(P, error) bool) {
		var none P
		params := maps.Clone(query)
		if params == nil {
			params = url.Values{}
		}
		if ep.shrink {
			if limit := c.limitCap(ep.path); limit > 0 {
				if q, _ := strconv.Atoi(params.Get("limit")); q == 0 || q > limit {
					params.Set("limit", strconv.Itoa(limit))
				}
			}
		}
		seen := map[string]struct{}{}
		for pages := 1; ; pages++ {
			var page P
			err := c.get(ctx, ep.path, params, func(r io.Reader) (err error) {
				page, err = ep.decode(r)
				return err
			})
			if ep.shrink && errors.Is(err, ErrBodyTooLarge) {
				if limit, _ := strconv.Atoi(params.Get("limit")); limit > 1 {
					limit /= 2
					c.setLimitCap(ep.path, limit)
					c.settings.Logger.Warn("A page was larger than max_response_bytes; reading fewer buckets a page",
						zap.String("endpoint", ep.path), zap.Int("limit", limit))
					params.Set("limit", strconv.Itoa(limit))
					params.Del(ep.cursorParam)
					clear(seen)
					pages = 0
					continue
				}
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
			if !yield(page, nil) || next == "" {
				return
			}
			params.Set(ep.cursorParam, next)
		}
	}
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
	case pages >= c.settings.MaxPages:
		return "", fmt.Errorf("%s: %w: more than max_pages (%d) pages", path, ErrPagination, c.settings.MaxPages)
	}
	if _, dup := seen[next]; dup {
		return "", fmt.Errorf("%s: %w: %s repeats after %d pages", path, ErrPagination, field, pages)
	}
	seen[next] = struct{}{}
	return next, nil
}
