// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
)

// AnalyticsWalk is every row of one analytics query, all read from one
// export of the data.
type AnalyticsWalk[R any] struct {
	Rows []R
	// DataRefreshedAt is the export every page was served from (nil when
	// the API sent null on every page).
	DataRefreshedAt *time.Time
	OrganizationID  *string
	// Pages is the number of pages of the walk returned; Restarts counts
	// the walks abandoned before it.
	Pages, Restarts int
}

// maxWalkRestarts bounds the walks one call abandons: exports are hours
// apart, so a walk that keeps meeting a new one is not converging.
const maxWalkRestarts = 3

// ErrWalkUnstable is returned when every try of a walk met a data refresh.
var ErrWalkUnstable = errors.New("the data kept being refreshed during the walk")

// Errors of the analytics endpoints a user can act on. Each wraps the
// APIError it was recognised in.
var (
	ErrHIPAA = errors.New(`this organization has HIPAA readiness enabled, and the Usage and Cost Analytics API refuses it for good: ` +
		`read the legacy usage and cost reports instead (source: legacy)`)
	ErrAnalyticsBeta = errors.New(`the organization or key has no access to the beta Usage and Cost Analytics API ` +
		`(anthropic-beta: ` + BetaAnalytics + `): use source: legacy until it is enabled`)
	ErrAnalyticsScope = errors.New(`the key may not read analytics: use an Admin API key (sk-ant-admin…) or an API key with the ` +
		`read:analytics scope; organization_ids and group_by organization_id need a key of the parent organization`)
	ErrRBACUnavailable = errors.New(`RBAC group breakdowns are temporarily unavailable (503 for a day or more has been seen); ` +
		`the query is tried again on the next poll, and queries without rbac_group_id are not affected`)
)

// AnalyticsUsage reads every page of a usage query. See walkAnalytics.
func (c *Client) AnalyticsUsage(ctx context.Context, q AnalyticsQuery) (*AnalyticsWalk[AnalyticsUsageRow], error) {
	return walkAnalytics[AnalyticsUsageRow](ctx, c, PathAnalyticsUsage, &q)
}

// AnalyticsCost reads every page of a cost query. See walkAnalytics.
func (c *Client) AnalyticsCost(ctx context.Context, q AnalyticsQuery) (*AnalyticsWalk[AnalyticsCostRow], error) {
	return walkAnalytics[AnalyticsCostRow](ctx, c, PathAnalyticsCost, &q)
}

// walkAnalytics reads a query to its last page, all or nothing. A cursor
// outlives an export only until the data is refreshed: the API then answers
// 410 (or 400 for the cursor [I]), and a page served from a newer export
// (another data_refreshed_at) does not fit the pages before it. Either way
// the rows read so far are dropped and the walk starts again from its first
// page; nothing from a half walk is returned.
func walkAnalytics[R any](ctx context.Context, c *Client, path string, q *AnalyticsQuery) (*AnalyticsWalk[R], error) {
	ctx = withBeta(ctx, BetaAnalytics)
	ep := endpoint[*AnalyticsPage[R]]{
		path: path, cursorParam: "page", cursorField: "next_page",
		decode: decodeInto[AnalyticsPage[R]], report: true,
	}
	for restarts := 0; ; restarts++ {
		w, restart, err := walkOnce(ctx, c, ep, q)
		switch {
		case err != nil:
			return nil, analyticsError(err, q)
		case restart == "":
			w.Restarts = restarts
			return w, nil
		case restarts >= maxWalkRestarts:
			return nil, fmt.Errorf("%s: %w: %s, after %d restarts", path, ErrWalkUnstable, restart, restarts)
		}
		c.settings.Logger.Info("Restarting an analytics walk from its first page",
			zap.String("endpoint", path), zap.String("reason", restart))
	}
}

// walkOnce reads the pages of one try; restart says why the try was given
// up, if it was.
func walkOnce[R any](ctx context.Context, c *Client, ep endpoint[*AnalyticsPage[R]], q *AnalyticsQuery) (w *AnalyticsWalk[R], restart string, err error) {
	w = &AnalyticsWalk[R]{}
	for p, err := range paginate(ctx, c, ep, q.values()) {
		switch {
		case err == nil:
		case IsStatus(err, http.StatusGone):
			return nil, "the cursor expired (410): the data was refreshed", nil
		case w.Pages > 0 && IsStatus(err, http.StatusBadRequest):
			// The first page took these parameters: only the cursor is new.
			return nil, "the cursor was refused (400)", nil
		default:
			return nil, "", err
		}
		w.Pages++
		if w.Pages == 1 {
			w.DataRefreshedAt, w.OrganizationID = p.DataRefreshedAt, p.OrganizationID
		} else if !sameTime(w.DataRefreshedAt, p.DataRefreshedAt) {
			return nil, fmt.Sprintf("data_refreshed_at changed from %s to %s", fmtTimePtr(w.DataRefreshedAt), fmtTimePtr(p.DataRefreshedAt)), nil
		}
		w.Rows = append(w.Rows, p.Data...)
	}
	return w, "", nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "null"
	}
	return t.UTC().Format(time.RFC3339)
}

// analyticsError names what the user can do about an error the analytics
// endpoints answered. Their exact messages are not documented [U]: a
// message is matched on a word, not a sentence.
func analyticsError(err error, q *AnalyticsQuery) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	msg := strings.ToLower(ae.Message)
	switch {
	case ae.StatusCode == http.StatusBadRequest && strings.Contains(msg, "hipaa"):
		return fmt.Errorf("%w: %w", ErrHIPAA, err)
	case (ae.StatusCode == http.StatusBadRequest || ae.StatusCode == http.StatusForbidden || ae.StatusCode == http.StatusNotFound) &&
		strings.Contains(msg, "beta"):
		return fmt.Errorf("%w: %w", ErrAnalyticsBeta, err)
	case ae.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrAnalyticsScope, err)
	case ae.StatusCode == http.StatusServiceUnavailable && (q.groupsBy(DimRBACGroupID) || len(q.Filters.RBACGroupIDs) > 0):
		return fmt.Errorf("%w: %w", ErrRBACUnavailable, err)
	}
	return err
}

// betaKey carries anthropic-beta values to the requests sent under a
// context: a beta belongs to the query, and the context already reaches
// every request of it through paginate and the retry loop.
type betaKey struct{}

// withBeta adds beta to the anthropic-beta header of the requests sent
// under the returned context.
func withBeta(ctx context.Context, beta string) context.Context {
	if prev, _ := ctx.Value(betaKey{}).(string); prev != "" {
		beta = prev + "," + beta
	}
	return context.WithValue(ctx, betaKey{}, beta)
}

// betaHeader is the anthropic-beta header of the requests sent under ctx.
func betaHeader(ctx context.Context) string {
	b, _ := ctx.Value(betaKey{}).(string)
	return b
}
