// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// apiError is an error answered with the Admin API error envelope.
type apiError struct {
	Status  int
	Type    string
	Message string
	Code    string // error.details.error_code, when the reference documents one
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

func badRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
}

// errorTypeFor maps an HTTP status to the documented error.type.
func errorTypeFor(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 409:
		return "conflict_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 500:
		return "api_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// defaultMessage is the OpenAPI default message of an error type.
func defaultMessage(typ string) string {
	switch typ {
	case "invalid_request_error":
		return "Invalid request"
	case "authentication_error":
		return "Authentication error"
	case "billing_error":
		return "Billing error"
	case "permission_error":
		return "Permission denied"
	case "not_found_error":
		return "Not found"
	case "conflict_error":
		return "Conflict"
	case "request_too_large":
		return "Request too large"
	case "rate_limit_error":
		return "Rate limited"
	case "timeout_error":
		return "Request timeout"
	case "api_error":
		return "Internal server error"
	case "overloaded_error":
		return "Overloaded"
	}
	return "Error"
}

type errorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string        `json:"type"`
		Message string        `json:"message"`
		Details *errorDetails `json:"details,omitempty"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

type errorDetails struct {
	ErrorCode string `json:"error_code"`
}

func writeError(w http.ResponseWriter, rid string, e *apiError) {
	var b errorBody
	b.Type = "error"
	b.Error.Type = e.Type
	b.Error.Message = e.Message
	if b.Error.Message == "" {
		b.Error.Message = defaultMessage(e.Type)
	}
	if e.Code != "" {
		b.Error.Details = &errorDetails{ErrorCode: e.Code}
	}
	b.RequestID = rid
	writeJSON(w, e.Status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"type":"error","error":{"type":"api_error","message":"Internal server error"},"request_id":null}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// bufferWriter captures a response (for the Truncate fault).
type bufferWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header         { return b.header }
func (b *bufferWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

func (s *Simulator) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rid := s.newRequestID()
	w.Header().Set("request-id", rid)
	// The API's clock, which the receiver's finality follows: the
	// simulator's, fake in tests.
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveSide(w, r, rid)
		return
	}
	s.mu.Lock()
	s.stats.Requests[r.URL.Path]++
	s.stats.Total++
	s.mu.Unlock()
	status := s.serveAPI(w, r, rid)
	s.mu.Lock()
	s.stats.ByStatus[status]++
	s.mu.Unlock()
}

// serveAPI applies a scripted fault, if any, then the rate limit,
// authentication and the endpoint. It returns the status sent.
func (s *Simulator) serveAPI(w http.ResponseWriter, r *http.Request, rid string) int {
	if f, ok := s.faults.next(r.URL.Path); ok {
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return 499 // client went away
			}
		}
		switch {
		case f.Reset:
			resetConnection(w)
			return 0
		case f.Status != 0:
			if f.RetryAfter != "" {
				w.Header().Set("retry-after", f.RetryAfter)
			}
			typ := f.ErrorType
			if typ == "" {
				typ = errorTypeFor(f.Status)
			}
			writeError(w, rid, &apiError{Status: f.Status, Type: typ, Message: f.Message})
			return f.Status
		case f.Truncate:
			bw := &bufferWriter{header: http.Header{}, status: http.StatusOK}
			s.route(bw, r, rid)
			for k, v := range bw.header {
				w.Header()[k] = v
			}
			body := bw.buf.Bytes()
			body = body[:len(body)/2]
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
			return http.StatusOK
		}
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.route(sw, r, rid)
	return sw.status
}

// resetConnection hijacks the connection and closes it abruptly (with an
// RST where possible).
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

var knownVersions = map[string]bool{"2023-01-01": true, "2023-06-01": true, "2026-10-21": true}

func (s *Simulator) route(w http.ResponseWriter, r *http.Request, rid string) {
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		if wait, ok := s.rateLimit(); !ok {
			w.Header().Set("retry-after", strconv.Itoa(wait))
			writeError(w, rid, &apiError{Status: 429, Type: "rate_limit_error",
				Message: fmt.Sprintf("Rate limited: this organization is limited to %d requests per minute on the Admin API; retry after %d seconds", s.opts.RequestsPerMinute, wait)})
			return
		}
	}
	key := r.Header.Get("x-api-key")
	if key == "" {
		if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
			key = strings.TrimSpace(a[len("Bearer "):])
		}
	}
	switch {
	case key == "":
		writeError(w, rid, &apiError{Status: 401, Type: "authentication_error", Message: "x-api-key header is required"})
		return
	case key == s.adminKey:
	case strings.HasPrefix(key, "sk-ant-api"):
		writeError(w, rid, &apiError{Status: 403, Type: "permission_error", Message: "Permission denied: this endpoint requires an Admin API key (sk-ant-admin...); standard API keys are not allowed"})
		return
	default:
		writeError(w, rid, &apiError{Status: 401, Type: "authentication_error", Message: "invalid x-api-key"})
		return
	}
	switch v := r.Header.Get("anthropic-version"); {
	case v == "":
		writeError(w, rid, badRequest("anthropic-version: header is required"))
		return
	case !knownVersions[v]:
		writeError(w, rid, badRequest("anthropic-version: %q is not a valid version", v))
		return
	}
	h := s.endpoint(r.URL.Path)
	if h == nil {
		writeError(w, rid, &apiError{Status: 404, Type: "not_found_error", Message: "Not found: " + r.URL.Path})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		writeError(w, rid, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Message: "Method not allowed: " + r.Method})
		return
	}
	v, err := h(r)
	if err != nil {
		writeError(w, rid, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

type endpointFunc func(r *http.Request) (any, *apiError)

func (s *Simulator) endpoint(path string) endpointFunc {
	switch path {
	case adminapi.PathUsageMessages:
		return s.handleUsage
	case adminapi.PathCostReport:
		return s.handleCost
	case adminapi.PathClaudeCode:
		return s.handleClaudeCode
	case adminapi.PathWorkspaces:
		return s.handleWorkspaces
	case adminapi.PathAPIKeys:
		return s.handleAPIKeys
	case adminapi.PathUsers:
		return s.handleUsers
	case adminapi.PathMe:
		return s.handleMe
	case adminapi.PathAnalyticsUsage:
		return s.handleAnalyticsUsage
	case adminapi.PathAnalyticsCost:
		return s.handleAnalyticsCost
	}
	if h := s.limitsEndpoint(path); h != nil {
		return h
	}
	for prefix, get := range map[string]func(id string) (any, bool){
		adminapi.PathWorkspaces + "/": s.getWorkspace,
		adminapi.PathAPIKeys + "/":    s.getAPIKey,
		adminapi.PathUsers + "/":      s.getUser,
	} {
		if id, ok := strings.CutPrefix(path, prefix); ok && id != "" && !strings.Contains(id, "/") {
			return func(*http.Request) (any, *apiError) {
				if v, ok := get(id); ok {
					return v, nil
				}
				return nil, &apiError{Status: 404, Type: "not_found_error", Message: "Not found: no object with id " + id}
			}
		}
	}
	return nil
}

// rateLimit admits a request under RequestsPerMinute over a sliding 60 s
// window of the simulator clock; if refused it returns the whole seconds
// until a slot frees.
func (s *Simulator) rateLimit() (int, bool) {
	return s.slidingWindow(&s.rl, s.opts.RequestsPerMinute)
}

// slidingWindow admits a request under rpm over the last 60 s of the clock
// in the window *times; if refused it returns the whole seconds until a
// slot frees.
func (s *Simulator) slidingWindow(times *[]int64, rpm int) (int, bool) {
	if rpm <= 0 {
		return 0, true
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := now - int64(time.Minute)
	i := 0
	for i < len(*times) && (*times)[i] <= cut {
		i++
	}
	*times = (*times)[i:]
	if len(*times) < rpm {
		*times = append(*times, now)
		return 0, true
	}
	s.stats.RateLimited++
	wait := ceilDiv((*times)[0]+int64(time.Minute)-now, int64(time.Second))
	if wait < 1 {
		wait = 1
	}
	return int(wait), false
}
