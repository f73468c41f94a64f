// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
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
// are kept, because their usage history still refers to them.
type nameCache struct {
	mu         sync.RWMutex
	workspaces map[string]string
	apiKeys    map[string]string
	org        adminapi.Organization
	first      chan struct{} // closed once the first refresh is over
	firstOnce  sync.Once
}

func newNameCache() *nameCache {
	return &nameCache{workspaces: map[string]string{}, apiKeys: map[string]string{}, first: make(chan struct{})}
}

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

// refresh reads the three lookups; each one that succeeds replaces its part
// of the cache, so one failing endpoint does not hide the others' names.
func (n *nameCache) refresh(ctx context.Context, client *adminapi.Client, logger *zap.Logger) {
	if ctx.Err() != nil {
		return
	}
	if ws, err := client.ListWorkspaces(ctx); err == nil {
		n.mu.Lock()
		n.workspaces = mergeNames(n.workspaces, ws, func(w adminapi.Workspace) (string, string) { return w.ID, w.Name })
		n.mu.Unlock()
	} else {
		logger.Warn("Workspace names not refreshed; ids are still emitted", zap.Error(err))
	}
	if keys, err := client.ListAPIKeys(ctx); err == nil {
		n.mu.Lock()
		n.apiKeys = mergeNames(n.apiKeys, keys, func(k adminapi.APIKey) (string, string) { return k.ID, k.Name })
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

// mergeNames is the new id-to-name map of a lookup; an id the lookup no
// longer lists (deleted since) keeps its last known name, because usage
// history still refers to it.
func mergeNames[T any](old map[string]string, items []T, idName func(T) (string, string)) map[string]string {
	m := make(map[string]string, len(items))
	for _, it := range items {
		id, name := idName(it)
		m[id] = name
	}
	for id, name := range old {
		if _, ok := m[id]; !ok {
			m[id] = name
		}
	}
	return m
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
	return n.apiKeys[id]
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
	case n.workspaces[workspaceID] != "":
		rb.SetAnthropicWorkspaceName(n.workspaces[workspaceID])
	}
}
