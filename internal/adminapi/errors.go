// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is an error answer of the Admin API: the HTTP status, the
// envelope's error.type and message, and the request id Anthropic support
// asks for. It never carries the admin key.
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
