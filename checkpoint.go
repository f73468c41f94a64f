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
)

// checkpointStore keeps one report's accounting in a storage extension, and
// the batch it sealed and has not delivered: the stream under key, the
// batch under key+"/pending". Both are written in one batch operation before
// the batch is sent, so that a restart either resends that batch, unchanged,
// or never saw it; the batch is deleted once the pipeline accepted it. The
// report's index (report+"/current") names the key of the shape in use, so
// that a new shape finds where the previous one stopped.
type checkpointStore struct {
	client    storage.Client
	extension component.ID // for messages
	report    string
	key       string
	// indexed: the index names key. replaces: the previous shape's key,
	// deleted with the first write of this one.
	indexed  bool
	replaces string
}

const (
	checkpointTimeout = 10 * time.Second
	// A checkpoint that cannot be read is read again this many times, a
	// second and then two apart, before the receiver gives up starting:
	// starting fresh would overwrite it with the next write.
	checkpointReads = 3
)

func (c *checkpointStore) indexKey() string { return c.report + "/current" }

func pendingKey(key string) string { return key + "/pending" }

// load returns the stored stream and undelivered batch, nil when absent,
// and the key of the shape the report used last.
func (c *checkpointStore) load(ctx context.Context) (snapshot, pending []byte, current string, err error) {
	v, err := c.read(ctx, c.key, pendingKey(c.key), c.indexKey())
	if err != nil {
		return nil, nil, "", err
	}
	c.indexed = string(v[2]) == c.key
	return v[0], v[1], string(v[2]), nil
}

// previous returns the stream and undelivered batch of another shape.
func (c *checkpointStore) previous(ctx context.Context, key string) (snapshot, pending []byte, err error) {
	v, err := c.read(ctx, key, pendingKey(key))
	if err != nil {
		return nil, nil, err
	}
	return v[0], v[1], nil
}

func (c *checkpointStore) read(ctx context.Context, keys ...string) ([][]byte, error) {
	for attempt := 1; ; attempt++ {
		ops := make([]*storage.Operation, len(keys))
		for i, k := range keys {
			ops[i] = storage.GetOperation(k)
		}
		readCtx, cancel := context.WithTimeout(ctx, checkpointTimeout)
		err := c.client.Batch(readCtx, ops...)
		cancel()
		if err == nil {
			out := make([][]byte, len(ops))
			for i, op := range ops {
				out[i] = op.Value
			}
			return out, nil
		}
		if attempt == checkpointReads || !sleep(ctx, time.Duration(attempt)*time.Second) {
			return nil, fmt.Errorf("reading the checkpoint %q from the storage extension %q (%d attempts): %w", keys[0], c.extension, attempt, err)
		}
	}
}

// setAside moves a checkpoint that cannot be decoded out of the way, under
// a key of its own, so that the fresh stream's writes do not overwrite it.
func (c *checkpointStore) setAside(ctx context.Context, snapshot, pending []byte, now time.Time) (string, error) {
	aside := fmt.Sprintf("%s/unreadable-%d", c.key, now.Unix())
	ops := []*storage.Operation{storage.SetOperation(aside, snapshot), storage.DeleteOperation(c.key), storage.DeleteOperation(pendingKey(c.key))}
	if pending != nil {
		ops = append(ops, storage.SetOperation(aside+"/pending", pending))
	}
	return aside, c.write(ctx, ops...)
}

// seal writes the stream as sealed, and the batch that carries its last
// increases (nil when there is none to deliver); with the first write, the
// index names this shape and the previous shape's checkpoint goes.
func (c *checkpointStore) seal(ctx context.Context, snapshot, pending []byte) error {
	ops := []*storage.Operation{storage.SetOperation(c.key, snapshot), storage.DeleteOperation(pendingKey(c.key))}
	if pending != nil {
		ops[1] = storage.SetOperation(pendingKey(c.key), pending)
	}
	if !c.indexed {
		ops = append(ops, storage.SetOperation(c.indexKey(), []byte(c.key)))
	}
	if c.replaces != "" {
		ops = append(ops, storage.DeleteOperation(c.replaces), storage.DeleteOperation(pendingKey(c.replaces)))
	}
	if err := c.write(ctx, ops...); err != nil {
		return err
	}
	c.indexed, c.replaces = true, ""
	return nil
}

// delivered notes that the pending batch was accepted.
func (c *checkpointStore) delivered(ctx context.Context) error {
	return c.write(ctx, storage.DeleteOperation(pendingKey(c.key)))
}

func (c *checkpointStore) write(ctx context.Context, ops ...*storage.Operation) error {
	// A shutdown in the middle of a poll must still record what was sealed
	// or delivered: the write is not cancelled with the poll.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
	defer cancel()
	if err := c.client.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("writing the checkpoint %q to the storage extension %q: %w", c.key, c.extension, err)
	}
	return nil
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
