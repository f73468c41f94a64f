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

// checkpoint persists one report's accounting in a storage extension. It is
// written after every commit, that is after the next consumer accepted the
// metrics: a checkpoint never claims more than was delivered.
type checkpoint struct {
	client storage.Client
	key    string
	logger *zap.Logger
}

const checkpointTimeout = 10 * time.Second

// load returns the stored checkpoint, or nil when there is none.
func (c *checkpoint) load(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, checkpointTimeout)
	defer cancel()
	return c.client.Get(ctx, c.key)
}

func (c *checkpoint) save(data []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), checkpointTimeout)
	defer cancel()
	if err := c.client.Set(ctx, c.key, data); err != nil {
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
func storageClient(ctx context.Context, host component.Host, id component.ID, self component.ID) (storage.Client, error) {
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
