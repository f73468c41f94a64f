// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type listPageJSON[T any] struct {
	Data    []T     `json:"data"`
	HasMore bool    `json:"has_more"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
}

// paginateIDs applies after_id/before_id/limit to items (in list order),
// keeping those accepted by keep. The cursor id is located in the full list,
// so an id filtered out of this query still works as a cursor.
func paginateIDs[T any](q url.Values, items []T, id func(T) string, keep func(T) bool) (listPageJSON[T], *apiError) {
	page := listPageJSON[T]{Data: []T{}}
	limit, err := parseLimit(q, 1, 1000, 20, "")
	if err != nil {
		return page, err
	}
	after, before := q.Get("after_id"), q.Get("before_id")
	if after != "" && before != "" {
		return page, badRequest("after_id, before_id: only one of after_id and before_id may be given")
	}
	find := func(name, v string) (int, *apiError) {
		for i, it := range items {
			if id(it) == v {
				return i, nil
			}
		}
		return 0, badRequest("%s: unknown id %q", name, v)
	}
	var sel []T
	switch {
	case before != "":
		pos, err := find("before_id", before)
		if err != nil {
			return page, err
		}
		var cand []T
		for _, it := range items[:pos] {
			if keep(it) {
				cand = append(cand, it)
			}
		}
		if len(cand) > limit {
			page.HasMore = true
			cand = cand[len(cand)-limit:]
		}
		sel = cand
	default:
		start := 0
		if after != "" {
			pos, err := find("after_id", after)
			if err != nil {
				return page, err
			}
			start = pos + 1
		}
		for _, it := range items[start:] {
			if !keep(it) {
				continue
			}
			if len(sel) == limit {
				page.HasMore = true
				break
			}
			sel = append(sel, it)
		}
	}
	if len(sel) > 0 {
		page.Data = sel
		f, l := id(sel[0]), id(sel[len(sel)-1])
		page.FirstID, page.LastID = &f, &l
	}
	return page, nil
}

type dataResidencyJSON struct {
	WorkspaceGeo         string `json:"workspace_geo"`
	DefaultInferenceGeo  string `json:"default_inference_geo"`
	AllowedInferenceGeos any    `json:"allowed_inference_geos"`
}

type workspaceJSON struct {
	ID            string            `json:"id"`
	Type          string            `json:"type"`
	Name          string            `json:"name"`
	CreatedAt     string            `json:"created_at"`
	ArchivedAt    *string           `json:"archived_at"`
	DisplayColor  string            `json:"display_color"`
	Tags          map[string]string `json:"tags"`
	DataResidency dataResidencyJSON `json:"data_residency"`
}

func workspaceOut(w *workspace) workspaceJSON {
	out := workspaceJSON{
		ID: *w.ID, Type: "workspace", Name: w.Name, CreatedAt: fmtTime(w.CreatedAt),
		DisplayColor: w.Color, Tags: w.Tags,
		DataResidency: dataResidencyJSON{WorkspaceGeo: "us", DefaultInferenceGeo: w.Geo, AllowedInferenceGeos: "unrestricted"},
	}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	if w.ArchivedAt != nil {
		a := fmtTime(*w.ArchivedAt)
		out.ArchivedAt = &a
	}
	return out
}

// listedWorkspaces are the workspace objects (the default workspace is not one).
func (s *Simulator) listedWorkspaces() []*workspace { return s.org.Workspaces[1:] }

func parseBool(q url.Values, name string) (bool, *apiError) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("%s: %q is not a boolean (true or false)", name, v)
	}
	return b, nil
}

func (s *Simulator) handleWorkspaces(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	incl, err := parseBool(q, "include_archived")
	if err != nil {
		return nil, err
	}
	now := s.now()
	page, err := paginateIDs(q, s.listedWorkspaces(), func(w *workspace) string { return *w.ID },
		func(w *workspace) bool { return incl || w.ArchivedAt == nil || w.ArchivedAt.After(now) })
	if err != nil {
		return nil, err
	}
	return mapPage(page, workspaceOut), nil
}

func mapPage[T, U any](p listPageJSON[T], f func(T) U) listPageJSON[U] {
	out := listPageJSON[U]{Data: make([]U, 0, len(p.Data)), HasMore: p.HasMore, FirstID: p.FirstID, LastID: p.LastID}
	for _, v := range p.Data {
		out.Data = append(out.Data, f(v))
	}
	return out
}

type createdByJSON struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type apiKeyJSON struct {
	ID             string         `json:"id"`
	Type           string         `json:"type"`
	Name           string         `json:"name"`
	Status         string         `json:"status"`
	CreatedAt      string         `json:"created_at"`
	CreatedBy      *createdByJSON `json:"created_by"`
	ExpiresAt      *string        `json:"expires_at"`
	PartialKeyHint *string        `json:"partial_key_hint"`
	WorkspaceID    *string        `json:"workspace_id"`
}

func apiKeyOut(k *apiKey) apiKeyJSON {
	out := apiKeyJSON{ID: k.ID, Type: "api_key", Name: k.Name, Status: k.Status, CreatedAt: fmtTime(k.CreatedAt), WorkspaceID: k.WS.ID}
	if k.CreatedBy != nil {
		out.CreatedBy = &createdByJSON{ID: k.CreatedBy.ID, Type: "user"}
	}
	if k.ExpiresAt != nil {
		e := fmtTime(*k.ExpiresAt)
		out.ExpiresAt = &e
	}
	h := k.Hint
	out.PartialKeyHint = &h
	return out
}

var keyStatuses = []string{"active", "inactive", "archived", "expired"}

func (s *Simulator) handleAPIKeys(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	status := q.Get("status")
	if status != "" && !oneOf(status, keyStatuses) {
		return nil, badRequest("status: unknown value %q; allowed values: %s", status, quoteList(keyStatuses))
	}
	wsID := q.Get("workspace_id")
	by := q.Get("created_by_user_id")
	page, err := paginateIDs(q, s.org.Keys, func(k *apiKey) string { return k.ID }, func(k *apiKey) bool {
		if status != "" && k.Status != status {
			return false
		}
		if wsID != "" && (k.WS.ID == nil || *k.WS.ID != wsID) {
			return false
		}
		if by != "" && (k.CreatedBy == nil || k.CreatedBy.ID != by) {
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return mapPage(page, apiKeyOut), nil
}

type userJSON struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Email   string `json:"email"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	AddedAt string `json:"added_at"`
}

func userOut(u *user) userJSON {
	return userJSON{ID: u.ID, Type: "user", Email: u.Email, Name: u.Name, Role: u.Role, AddedAt: fmtTime(u.AddedAt)}
}

func (s *Simulator) handleUsers(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	email := q.Get("email")
	page, err := paginateIDs(q, s.org.Users, func(u *user) string { return u.ID },
		func(u *user) bool { return email == "" || strings.EqualFold(u.Email, email) })
	if err != nil {
		return nil, err
	}
	return mapPage(page, userOut), nil
}

type orgJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func (s *Simulator) handleMe(*http.Request) (any, *apiError) {
	return orgJSON{ID: s.org.ID, Name: s.org.Name, Type: "organization"}, nil
}

func (s *Simulator) getWorkspace(id string) (any, bool) {
	for _, w := range s.listedWorkspaces() {
		if *w.ID == id {
			return workspaceOut(w), true
		}
	}
	return nil, false
}

func (s *Simulator) getAPIKey(id string) (any, bool) {
	for _, k := range s.org.Keys {
		if k.ID == id {
			return apiKeyOut(k), true
		}
	}
	return nil, false
}

func (s *Simulator) getUser(id string) (any, bool) {
	for _, u := range s.org.Users {
		if u.ID == id {
			return userOut(u), true
		}
	}
	return nil, false
}
