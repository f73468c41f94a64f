// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIError is an error answer of the Admin API: the HTTP status, the
// envelope's error.type and message, and the request id Anthropic support
// asks for. Its strings are the server's, cleaned (cleanText): never the
// admin key, never longer than maxServerText.
type APIError struct {
	Endpoint   string
	StatusCode int
	Type       string
	Message    string
	Code       string // error.details.error_code, e.g. organization_type_not_supported
	RequestID  string
	RetryAfter time.Duration // from the retry-after header; 0 when absent
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", e.Endpoint, e.StatusCode)
	if e.Type != "" {
		fmt.Fprintf(&b, " %s", e.Type)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if hint := statusHint(e.StatusCode); hint != "" {
		fmt.Fprintf(&b, " (%s)", hint)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request-id %s]", e.RequestID)
	}
	return b.String()
}

func statusHint(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return "the admin_api_key is missing, revoked or wrong"
	case http.StatusForbidden:
		return "the key is not an Admin API key (sk-ant-admin…) or may not read this report"
	case http.StatusNotFound:
		return "check the endpoint setting"
	}
	return ""
}

// Retryable reports whether a request that got this status may succeed when
// repeated: rate limits, overload and server-side failures.
func Retryable(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout, 529:
		return true
	}
	return false
}

// IsStatus reports whether err is an APIError with the given status.
func IsStatus(err error, code int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == code
}

// ErrBodyTooLarge is returned when a response body is larger than the
// configured cap.
var ErrBodyTooLarge = errors.New("response body exceeds max_response_bytes")

// ErrPagination is returned when the API's pagination cannot be trusted: a
// cursor that repeats, has_more without a cursor, or more pages than allowed.
var ErrPagination = errors.New("pagination")

// The error types of the receiver's telemetry and logs: the API's
// documented error.type values, "other" for any other a server sends, and
// what fails on the client's side. A server's own string never becomes a
// telemetry attribute: it could be anything, of any length.
const (
	ErrorTypeOther     = "other"
	ErrorTypeTransport = "transport"        // no answer: connection, TLS, timeout
	ErrorTypeDecode    = "decode"           // a 2xx answer the client cannot take
	ErrorTypeRedirect  = "redirect_refused" // to another host, a loop, too many
)

// documentedErrorTypes are the error.type values of the API's errors page.
var documentedErrorTypes = []string{
	"invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error",
	"conflict_error", "request_too_large", "rate_limit_error", "api_error", "timeout_error", "overloaded_error",
}

// ErrorTypeOf is the error type to report for a server's error.type.
func ErrorTypeOf(serverType string) string {
	if slices.Contains(documentedErrorTypes, serverType) {
		return serverType
	}
	return ErrorTypeOther
}

// Bounds of what a server chose when it is shown: a string of its own (an
// error's type, message or request id), and a whole error that may quote
// the server (a value that did not parse).
const (
	maxServerText = 256
	maxErrorText  = 1024
)

// cleanText is s as it may be shown: the admin key replaced, control
// characters and invalid UTF-8 replaced (a log line stays one line), at
// most max bytes. The key goes first, so that a cut never leaves a part of
// it.
func cleanText(s, key string, max int) string {
	if key != "" {
		s = strings.ReplaceAll(s, key, "[REDACTED]")
	}
	s = strings.ToValidUTF8(s, "?")
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return '?'
			}
			return r
		}, s)
	}
	return truncate(s, max)
}

// truncate cuts s to at most n bytes on a character boundary, marking the
// cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
