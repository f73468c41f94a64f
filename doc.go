// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

// Package anthropicusagereceiver polls Anthropic's Admin API usage and cost
// reports and emits their exact totals as OTLP metrics.
//
//go:generate go tool -modfile=internal/tools/go.mod mdatagen metadata.yaml
package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"
