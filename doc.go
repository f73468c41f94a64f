// Package anthropicusagereceiver polls Anthropic's Admin API usage and cost
// reports and emits their exact totals as OTLP metrics.
//
//go:generate make generate
package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"
