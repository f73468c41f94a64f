// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// arrayParam collects an array parameter sent in bracket form (name[]=a&name[]=b)
// or bare form (name=a&name=b). Empty values are dropped.
func arrayParam(q url.Values, name string) []string {
	var out []string
	for _, k := range []string{name + "[]", name} {
		for _, v := range q[k] {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// hasParam reports whether an array parameter was sent at all.
func hasParam(q url.Values, name string) bool {
	_, a := q[name+"[]"]
	_, b := q[name]
	return a || b
}

const timeLayout = "2006-01-02T15:04:05Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTimeParam parses an RFC 3339 date-time parameter.
func parseTimeParam(q url.Values, name string, required bool) (time.Time, bool, *apiError) {
	v := q.Get(name)
	if v == "" {
		if required {
			return time.Time{}, false, badRequest("%s: field required (an RFC 3339 date-time such as 2025-08-01T00:00:00Z)", name)
		}
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false, badRequest("%s: invalid RFC 3339 date-time %q (expected e.g. 2025-08-01T00:00:00Z)", name, v)
	}
	return t.UTC(), true, nil
}

// bucketWidth is what the reference documents for one bucket_width of the
// usage report; the cost report takes 1d only, with the same bounds.
type bucketWidth struct {
	d                      time.Duration
	maxLimit, defaultLimit int
}

const width1d = "1d"

var bucketWidths = map[string]bucketWidth{
	"1m":    {time.Minute, 1440, 60},
	"1h":    {time.Hour, 168, 24},
	width1d: {24 * time.Hour, 31, 7},
}

// parseLimit parses `limit` in [lo, hi] with a default.
func parseLimit(q url.Values, lo, hi, def int, context string) (int, *apiError) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest("limit: %q is not an integer", v)
	}
	if n < lo || n > hi {
		return 0, badRequest("limit: must be between %d and %d%s, got %d", lo, hi, context, n)
	}
	return n, nil
}

// cursor is the opaque `page` token of the report endpoints: the endpoint,
// a fingerprint of the query it belongs to, the position to resume at and,
// for Claude Code, the data boundary of the first page.
type cursor struct {
	E string `json:"e"`
	Q string `json:"q"`
	N int64  `json:"n"`
	A int64  `json:"a,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return "page_" + base64.RawURLEncoding.EncodeToString(b)
}

// parsePage decodes `page`; nil when absent. It must belong to the endpoint
// and query fingerprint given.
func parsePage(q url.Values, endpoint, fingerprint string) (*cursor, *apiError) {
	v := q.Get("page")
	if v == "" {
		return nil, nil
	}
	raw, ok := strings.CutPrefix(v, "page_")
	var c cursor
	if ok {
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if err == nil && json.Unmarshal(b, &c) == nil && c.E != "" {
			ok = true
		} else {
			ok = false
		}
	}
	if !ok {
		return nil, badRequest("page: invalid page token %q; pass the next_page value of a previous response", v)
	}
	if c.E != endpoint || c.Q != fingerprint {
		return nil, badRequest("page: the page token belongs to a different query; resend the same parameters as the request that returned it")
	}
	return &c, nil
}

// fingerprint is a stable digest of the query parameters that define a
// paginated query (everything but page and limit).
func fingerprint(parts ...string) string {
	return strconv.FormatUint(hashString(strings.Join(parts, "\x1f")), 36)
}

func sortedJoin(v []string) string {
	c := append([]string(nil), v...)
	sort.Strings(c)
	return strings.Join(c, ",")
}

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if a == v {
			return true
		}
	}
	return false
}

func quoteList(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
