// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// checkpointStore keeps one report's accounting in a storage extension, and
// the batch it sealed and has not delivered: the stream under key, the
// batch under key+"/pending". Both are written in one batch operation before
// the batch is sent, so that a restart either resends that batch, unchanged,
// or never saw it; the batch is deleted once the pipeline accepted it.
type checkpointStore struct {
	client storage.Client
	key    string
	logger *zap.Logger
}

const checkpointTimeout = 10 * time.Second

func (c *checkpointStore) pendingKey() string { return c.key + "/pending" }

// load returns the stored stream and undelivered batch; nil when absent.
func (c *checkpointStore) load(ctx context.Context) (snapshot, pending []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, checkpointTimeout)
	defer cancel()
	ops := []*storage.Operation{storage.GetOperation(c.key), storage.GetOperation(c.pendingKey())}
	if err := c.client.Batch(ctx, ops...); err != nil {
		return nil, nil, err
	}
	return ops[0].Value, ops[1].Value, nil
}

// seal writes the stream as sealed, and the batch that carries its last
// increases (nil when there is none to deliver).
func (c *checkpointStore) seal(ctx context.Context, snapshot, pending []byte) {
	second := storage.DeleteOperation(c.pendingKey())
	if pending != nil {
		second = storage.SetOperation(c.pendingKey(), pending)
	}
	c.write(ctx, storage.SetOperation(c.key, snapshot), second)
}

// delivered notes that the pending batch was accepted.
func (c *checkpointStore) delivered(ctx context.Context) {
	c.write(ctx, storage.DeleteOperation(c.pendingKey()))
}

func (c *checkpointStore) write(ctx context.Context, ops ...*storage.Operation) {
	// A shutdown in the middle of a poll must still record what was sealed
	// or delivered: the write is not cancelled with the poll.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
	defer cancel()
	if err := c.client.Batch(ctx, ops...); err != nil {
		c.logger.Error("Checkpoint not written; after a restart the last polls would be read again",
			zap.String("key", c.key), zap.Error(err))
	}
}

// checkpointKey names a report's checkpoint after everything that shapes
// its series: a configuration that changes the shape starts a new stream
// instead of mixing shapes.
func checkpointKey(report string, shape ...string) string {
	h := sha256.Sum256([]byte(strings.Join(shape, "\x00")))
	return report + "/" + hex.EncodeToString(h[:8])
}

// sortedJoin is a canonical form of a set of strings.
func sortedJoin(v []string) string {
	c := slices.Clone(v)
	slices.Sort(c)
	return strings.Join(c, ",")
}

// storageClient opens the configured storage extension's client.
func storageClient(ctx context.Context, host component.Host, id, self component.ID) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf(`"storage": extension %q is not configured in the service`, id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf(`"storage": extension %q is not a storage extension`, id)
	}
	return se.GetClient(ctx, component.KindReceiver, self, "")
}
