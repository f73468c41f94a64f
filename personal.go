// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"crypto/sha256"
	"encoding/hex"
)

// personalData is a person's email or name as a report emits it, by the
// policy the configuration names: keep, hash or drop ("": not emitted).
// Every report that carries personal data goes through here.
func personalData(policy, v string) string {
	switch policy {
	case actorDrop:
		return ""
	case actorHash:
		sum := sha256.Sum256([]byte(v))
		return hex.EncodeToString(sum[:8])
	}
	return v
}
