// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// actorPolicy is how a report that names people (a user's email, a
// person's or an API key's name) reports them, as its actor option says:
// keep, hash or drop. Every report that carries personal data uses it.
type actorPolicy struct {
	option string
	key    []byte // hash_key, for hash
}

func newActorPolicy(option string, hashKey configopaque.String) actorPolicy {
	return actorPolicy{option: option, key: []byte(hashKey)}
}

// hashedBytes is how much of the HMAC is kept: 128 bits, as 32 hex digits.
const hashedBytes = 16

// apply is the value as reported: as is (keep), "" (drop: the attribute is
// left out), or its HMAC-SHA256 keyed with hash_key. The key makes the
// pseudonym unguessable: an unkeyed hash of an email is reversed by hashing
// guessed emails.
func (p actorPolicy) apply(v string) string {
	switch p.option {
	case actorDrop:
		return ""
	case actorHash:
		return p.hmac(v)
	}
	return v
}

func (p actorPolicy) hmac(v string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil)[:hashedBytes])
}

// shape is what the policy adds to the report's checkpoint shape: the
// option, and with hash a fingerprint of hash_key (an HMAC of a fixed label,
// which tells nothing of the key), so that a new key starts a new stream
// instead of mixing two sets of pseudonyms.
func (p actorPolicy) shape() string {
	if p.option == actorHash {
		return actorHash + ":" + p.hmac("anthropic_usage checkpoint shape")
	}
	return p.option
}

// otherOptions are what the policy's other options add to a shape, and the
// unkeyed "hash" of earlier versions: the checkpoints written under them are
// deleted at startup. A hash under another hash_key cannot be computed; the
// report's index finds it.
func (p actorPolicy) otherOptions() []string {
	return slices.DeleteFunc([]string{actorKeep, actorDrop, actorHash}, func(s string) bool { return s == p.shape() })
}

// personalSource is a source whose series carry personal data.
type personalSource interface {
	// otherShapes are the source's shapes under its policy's other options.
	otherShapes() [][]string
}

// forgetOtherOptions deletes, at startup, the checkpoints the report wrote
// under another actor option: those of the other options it can name, and
// the one its index names if it is not this one's. A switch from keep to
// hash or drop must not leave plain emails on disk, nor a new hash_key the
// pseudonyms of the old one. When this start follows another option's
// stream (its watermark), this one's first checkpoint is written now with
// the deletion, and the other option's undelivered batch is dropped: it
// carries the actors in the other option's form. What it carried for days
// still inside the revision window is read again; days already final are
// not sent.
func (rep *report) forgetOtherOptions(ctx context.Context, ps personalSource) error {
	st := rep.store
	index, err := st.read(ctx, st.indexKey())
	if err != nil {
		return err
	}
	forget := map[string]bool{}
	for _, shape := range ps.otherShapes() {
		forget[checkpointKey(rep.name, shape...)] = true
	}
	if cur := string(index[0]); cur != "" {
		forget[cur] = true
	}
	if st.replaces != "" {
		forget[st.replaces] = true
	}
	delete(forget, st.key)
	var candidates []string
	for _, k := range slices.Sorted(maps.Keys(forget)) {
		candidates = append(candidates, k, pendingKey(k))
	}
	// Only what is there is deleted: a start with nothing to delete
	// writes nothing.
	var ops []*storage.Operation
	if len(candidates) > 0 {
		values, err := st.read(ctx, candidates...)
		if err != nil {
			return err
		}
		for i, v := range values {
			if v != nil {
				ops = append(ops, storage.DeleteOperation(candidates[i]))
			}
		}
	}
	followed := st.replaces != ""
	if followed {
		ops = append(ops, storage.SetOperation(st.key, rep.stream.MarshalBinary(rep.codec)),
			storage.DeleteOperation(pendingKey(st.key)), storage.SetOperation(st.indexKey(), []byte(st.key)))
	}
	if len(ops) == 0 {
		return nil
	}
	if err := st.write(ctx, ops...); err != nil {
		return err
	}
	if followed {
		dropped := rep.pending != nil
		rep.pending, rep.unsaved = nil, false
		st.indexed, st.replaces = true, ""
		rep.logger.Info("The checkpoint of another actor option was deleted", zap.Bool("undelivered_batch_dropped", dropped))
	}
	return nil
}
