// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

// Package fuzzcorpus writes the seed corpora of the fuzz tests, in the
// corpus file format of `go test -fuzz` (make fuzz-seeds).
package fuzzcorpus // import "github.com/anthropicusage/anthropicusagereceiver/internal/fuzzcorpus"

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Write replaces the files named seed-* of fuzzName's corpus under
// testdata/fuzz with seeds, one file per seed; a seed's values are the fuzz
// function's arguments, []byte or string.
func Write(t testing.TB, fuzzName string, seeds map[string][]any) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", fuzzName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	for name, vals := range seeds {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			case string:
				fmt.Fprintf(&b, "string(%q)\n", v)
			default:
				t.Fatalf("seed %s: unsupported type %T", name, v)
			}
		}
		file := filepath.Join(dir, "seed-"+strings.ReplaceAll(name, "/", "_"))
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Bytes is seeds of one []byte argument each.
func Bytes(seeds map[string][]byte) map[string][]any {
	out := make(map[string][]any, len(seeds))
	for k, v := range seeds {
		out[k] = []any{v}
	}
	return out
}
