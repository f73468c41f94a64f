// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// defaultWorkspaceName names the default workspace, which the API does not
// list with an id.
const defaultWorkspaceName = "Default Workspace"

// nameCache resolves workspace and API key ids to names, and knows the
// organization. It is refreshed in the background: a failed or slow lookup
// never delays metrics, which keep their ids and get their names back on the
// next successful refresh. Names of archived workspaces and inactive keys
// stay, because the lookups list them. An id a lookup stopped listing (deleted
// since) keeps its name for forgetAfter successful refreshes, then is
// forgotten: ids that come and go must not grow the cache without end. Each
// kind holds at most adminapi.MaxNames names.
type nameCache struct {
	mu         sync.RWMutex
	workspaces names
	apiKeys    names
	org        adminapi.Organization
	first      chan struct{} // closed once the first refresh is over
	firstOnce  sync.Once
}

// forgetAfter is how many successful refreshes in a row may not list an id
// before its name is forgotten.
const forgetAfter = 3

// names maps ids to names, with the refresh that last listed each.
type names struct {
	byID    map[string]namedID
	refresh int // successful refreshes so far
}

type namedID struct {
	name string
	seen int // the refresh that last listed the id
}

func newNameCache() *nameCache {
	return &nameCache{workspaces: names{byID: map[string]namedID{}}, apiKeys: names{byID: map[string]namedID{}}, first: make(chan struct{})}
}

// updateNames takes a successful lookup's listing: listed ids get their name,
// ids not listed for forgetAfter refreshes go, and the least recently listed
// go first when more than adminapi.MaxNames remain.
func updateNames[T any](n *names, listed []T, idName func(T) (string, string)) {
	n.refresh++
	for _, l := range listed {
		id, name := idName(l)
		n.byID[id] = namedID{name: name, seen: n.refresh}
	}
	for id, e := range n.byID {
		if n.refresh-e.seen >= forgetAfter {
			delete(n.byID, id)
		}
	}
	if over := len(n.byID) - adminapi.MaxNames; over > 0 {
		stale := make([]string, 0, len(n.byID))
		for id, e := range n.byID {
			if e.seen < n.refresh {
				stale = append(stale, id)
			}
		}
		slices.SortFunc(stale, func(a, b string) int { return cmp.Compare(n.byID[a].seen, n.byID[b].seen) })
		for _, id := range stale[:min(over, len(stale))] {
			delete(n.byID, id)
		}
	}
}

func (n *names) name(id string) string { return n.byID[id].name }

// awaitFirst waits, at most d, for the first refresh to be over.
func (n *nameCache) awaitFirst(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-n.first:
	case <-t.C:
	case <-ctx.Done():
	}
}

// refresh reads the three lookups; each one that succeeds updates its part
// of the cache, so one failing endpoint does not hide the others' names.
func (n *nameCache) refresh(ctx context.Context, client *adminapi.Client, logger *zap.Logger) {
	if ctx.Err() != nil {
		return
	}
	if ws, err := client.ListWorkspaces(ctx); err == nil {
		n.mu.Lock()
		updateNames(&n.workspaces, ws, func(w adminapi.Workspace) (string, string) { return w.ID, w.Name })
		n.mu.Unlock()
	} else {
		logger.Warn("Workspace names not refreshed; ids are still emitted", zap.Error(err))
	}
	if keys, err := client.ListAPIKeys(ctx); err == nil {
		n.mu.Lock()
		updateNames(&n.apiKeys, keys, func(k adminapi.APIKey) (string, string) { return k.ID, k.Name })
		n.mu.Unlock()
	} else {
		logger.Warn("API key names not refreshed; ids are still emitted", zap.Error(err))
	}
	if org, err := client.Organization(ctx); err == nil {
		n.mu.Lock()
		n.org = org
		n.mu.Unlock()
	} else {
		logger.Warn("Organization not refreshed", zap.Error(err))
	}
}

// namesFirstLookup bounds how long the first scrape waits for names.
const namesFirstLookup = 5 * time.Second

// run refreshes at once and then every interval until ctx ends.
func (n *nameCache) run(ctx context.Context, client *adminapi.Client, interval time.Duration, logger *zap.Logger) {
	n.refresh(ctx, client, logger)
	n.firstOnce.Do(func() { close(n.first) })
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.refresh(ctx, client, logger)
	}
}

func (n *nameCache) apiKeyName(id string) string {
	if n == nil || id == "" || id == consoleAPIKey {
		return ""
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.apiKeys.name(id)
}

// setResource adds the organization and the workspace name to a resource.
func (n *nameCache) setResource(rb *metadata.ResourceBuilder, workspaceID string) {
	if n == nil {
		return
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.org.ID != "" {
		rb.SetAnthropicOrganizationID(n.org.ID)
	}
	if n.org.Name != "" {
		rb.SetAnthropicOrganizationName(n.org.Name)
	}
	switch {
	case workspaceID == "":
	case workspaceID == defaultWorkspace:
		rb.SetAnthropicWorkspaceName(defaultWorkspaceName)
	case n.workspaces.name(workspaceID) != "":
		rb.SetAnthropicWorkspaceName(n.workspaces.name(workspaceID))
	}
}
