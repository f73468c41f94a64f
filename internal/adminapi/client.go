// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Version is sent in the User-Agent header as the receiver's version.
const Version = "0.1.0"

// AnthropicVersion is the API version every example of the Admin API uses.
const AnthropicVersion = "2023-06-01"

// Settings configure a Client. New fills in nothing: the receiver's factory
// owns every default.
type Settings struct {
	Endpoint          string // base URL, e.g. https://api.anthropic.com
	AdminKey          string
	UserAgent         string // optional
	MaxResponseBytes  int64
	MaxPages          int
	RequestsPerMinute int // average rate of everything the client sends
	Burst             int // requests that may go back to back
	// Retry bounds how failed requests are repeated. The request's context
	// bounds it too: nothing waits past its deadline.
	Retry    configretry.BackOffConfig
	Logger   *zap.Logger // required
	Observer Observer    // optional, told about every request
}

// validate names every bad setting.
func (s *Settings) validate() (*url.URL, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	base, err := ParseEndpoint(s.Endpoint)
	if err != nil {
		bad("Endpoint: %w", err)
	}
	if s.AdminKey == "" {
		bad("AdminKey is empty")
	}
	if s.MaxResponseBytes <= 0 {
		bad("MaxResponseBytes must be positive, got %d", s.MaxResponseBytes)
	}
	if s.MaxPages <= 0 {
		bad("MaxPages must be positive, got %d", s.MaxPages)
	}
	if s.RequestsPerMinute <= 0 {
		bad("RequestsPerMinute must be positive, got %d", s.RequestsPerMinute)
	}
	if s.Burst <= 0 {
		bad("Burst must be positive, got %d", s.Burst)
	}
	if s.Logger == nil {
		bad("Logger is nil")
	}
	if err := CheckRetry(s.Retry); err != nil {
		bad("Retry: %w", err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("adminapi settings: %w", errors.Join(errs...))
	}
	return base, nil
}

// ParseEndpoint reads the base URL every path is appended to: absolute,
// without user information, query or fragment. An error never shows the
// endpoint as written: it may carry a password.
func ParseEndpoint(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		return nil, errors.New("not an absolute URL")
	case u.User != nil:
		return nil, fmt.Errorf("%s carries user information; the admin key is the only credential", RedactedEndpoint(endpoint))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(endpoint, "#"):
		return nil, fmt.Errorf("%s has a query or a fragment, which would end up inside every request's path", RedactedEndpoint(endpoint))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// RedactedEndpoint is an endpoint as it may be logged: scheme, host and
// path, without user information, query or fragment.
func RedactedEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "(not a URL)"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// CheckRetry reports retry settings the client's backoff cannot use, by
// their configuration names. ExponentialBackOff reads a max_interval of 0
// as a cap of 0 and a multiplier below 1 as a wait that shrinks, not as "no
// cap" and "constant".
func CheckRetry(r configretry.BackOffConfig) error {
	if !r.Enabled {
		return nil
	}
	errs := []error{r.Validate()}
	if r.InitialInterval <= 0 {
		errs = append(errs, fmt.Errorf("initial_interval must be positive, not %s", r.InitialInterval))
	}
	if r.MaxInterval < r.InitialInterval {
		errs = append(errs, fmt.Errorf("max_interval (%s) must not be below initial_interval (%s)", r.MaxInterval, r.InitialInterval))
	}
	if r.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("multiplier must be at least 1, not %g", r.Multiplier))
	}
	return errors.Join(errs...)
}

// Observer learns about each HTTP request the client sends, for the
// receiver's own telemetry and for tests that count requests.
type Observer interface {
	Request(endpoint string, status int, errType string, d time.Duration)
	Retry(endpoint string)
	Page(endpoint string, rows int)
	RateLimitWait(d time.Duration)
}

// Client reads the Admin API. It is safe for concurrent use.
type Client struct {
	http     *http.Client
	base     *url.URL
	settings Settings
	clock    clock
	server   serverClock
	// limiter is shared by every request of the client: Anthropic supports
	// polling about once a minute, with short bursts for pagination.
	limiter *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time      // after a 429, no request leaves before this
	limitCaps   map[string]int // per endpoint: a smaller limit after a page outgrew the cap
}

// maxRedirects bounds the redirects one request follows.
const maxRedirects = 5

// New wraps an HTTP client built from confighttp. It installs a redirect
// policy that never sends the admin key to another host or scheme, stops a
// redirect loop, and makes every hop wait for the rate limit like any other
// request.
func New(hc *http.Client, s Settings) (*Client, error) {
	base, err := s.validate()
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		settings:  s,
		clock:     realClock{},
		limiter:   rate.NewLimiter(rate.Limit(float64(s.RequestsPerMinute)/60), s.Burst),
		limitCaps: map[string]int{},
	}
	h := *hc
	h.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// net/http forwards custom headers such as x-api-key on redirects;
		// only Authorization and cookies are dropped for other hosts.
		if req.URL.Host != base.Host || req.URL.Scheme != base.Scheme {
			return &redirectError{fmt.Errorf("refusing a redirect to %s://%s: the admin key is only sent to the configured endpoint", req.URL.Scheme, req.URL.Host)}
		}
		for _, v := range via {
			if v.URL.String() == req.URL.String() {
				return &redirectError{errors.New("a redirect loop")}
			}
		}
		if len(via) >= maxRedirects {
			return &redirectError{fmt.Errorf("stopped after %d redirects", maxRedirects)}
		}
		return c.waitTurn(req.Context())
	}
	c.http = &h
	return c, nil
}

func (c *Client) limitCap(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limitCaps[path]
}

// setLimitCap sets the endpoint's reduced limit; 0 is none.
func (c *Client) setLimitCap(path string, limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if limit == 0 {
		delete(c.limitCaps, path)
		return
	}
	c.limitCaps[path] = limit
}

// decodeFunc reads a 2xx body.
type decodeFunc func(io.Reader) error

// decodeJSON decodes one JSON value into out; anything after it is an
// error, not something to ignore.
func decodeJSON(out any) decodeFunc {
	return func(r io.Reader) error {
		dec := json.NewDecoder(r)
		if err := dec.Decode(out); err != nil {
			return err
		}
		if err := expectEOF(dec); err != nil {
			return err
		}
		return bodyOf(r).check(out)
	}
}

func expectEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return errors.New("data after the JSON value")
		}
		return err
	}
	return nil
}

// get sends one GET with retries and hands a 2xx body to decode. A retried
// request decodes again from the start.
//
// The loop is written here rather than with backoff.Retry: in v5.0.3 Retry
// measures elapsed time with time.Since and waits on a real timer (its
// withTimer option is unexported), so tests could not run it on a fake
// clock, and it has no hook for the shared 429 pause or the deadline check.
// The intervals come from backoff.ExponentialBackOff.
func (c *Client) get(ctx context.Context, path string, params url.Values, decode decodeFunc) error {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = params.Encode()
	started := c.clock.Now()
	policy := c.settings.Retry
	var bo *backoff.ExponentialBackOff
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, path, u.String(), decode)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !policy.Enabled || !retryable(err) {
			return err
		}
		if bo == nil {
			bo = &backoff.ExponentialBackOff{
				InitialInterval:     policy.InitialInterval,
				RandomizationFactor: policy.RandomizationFactor,
				Multiplier:          policy.Multiplier,
				MaxInterval:         policy.MaxInterval,
			}
			bo.Reset()
		}
		wait := bo.NextBackOff()
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			wait = ae.RetryAfter
		}
		if ae != nil && ae.StatusCode == http.StatusTooManyRequests {
			// The rate limit is the organization's: a 429 on one endpoint
			// holds back every request of the client.
			c.pauseUntil(c.clock.Now().Add(wait))
		}
		if policy.MaxElapsedTime > 0 && c.clock.Now().Sub(started)+wait > policy.MaxElapsedTime {
			return fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		if dl, ok := ctx.Deadline(); ok && dl.Sub(c.clock.Now()) < wait {
			return fmt.Errorf("giving up after %d attempts, the next one would pass the scrape deadline: %w", attempt, err)
		}
		if o := c.settings.Observer; o != nil {
			o.Retry(path)
		}
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// retryable: the statuses the API documents as transient, and failures of
// the transport (no answer, a body cut short or reset while read), since
// every request is an idempotent GET. A body read whole that the client
// cannot take (malformed, past its bounds, a value that does not parse)
// would come back the same: it is not asked for again.
func retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return Retryable(ae.StatusCode)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var de *decodeError
	if errors.As(err, &de) {
		return de.transport
	}
	var redirect *redirectError
	return !errors.As(err, &redirect)
}

// decodeError is a 2xx answer that could not be decoded; transport: because
// the body did not arrive whole.
type decodeError struct {
	err       error
	transport bool
}

func (e *decodeError) Error() string { return e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// redirectError is a redirect the client does not follow: to another host,
// in a loop, or one too many. Asking again would be answered the same way.
type redirectError struct{ err error }

func (e *redirectError) Error() string { return e.err.Error() }
func (e *redirectError) Unwrap() error { return e.err }

// errorEnvelope is the body of every error response.
type errorEnvelope struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Details struct {
			ErrorCode string `json:"error_code"`
		} `json:"details"`
	} `json:"error"`
	RequestID *string `json:"request_id"`
}

func (c *Client) once(ctx context.Context, path, rawURL string, decode decodeFunc) (err error) {
	if err := c.waitTurn(ctx); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("x-api-key", c.settings.AdminKey)
	req.Header.Set("anthropic-version", AnthropicVersion)
	req.Header.Set("accept", "application/json")
	if b := betaHeader(ctx); b != "" {
		req.Header.Set("anthropic-beta", b)
	}
	if c.settings.UserAgent != "" {
		req.Header.Set("User-Agent", c.settings.UserAgent)
	}
	start := time.Now()
	status, errType, reqID := 0, "", ""
	defer func() {
		err = c.clean(err)
		if o := c.settings.Observer; o != nil {
			o.Request(path, status, errType, time.Since(start))
		}
		if err != nil && ctx.Err() == nil {
			c.settings.Logger.Warn("Admin API request failed",
				zap.String("endpoint", path),
				zap.Int("status", status),
				zap.String("error_type", errType),
				zap.String("request_id", reqID),
				zap.Error(err))
		}
	}()
	resp, err := c.http.Do(req)
	if err != nil {
		var re *redirectError
		if errors.As(err, &re) {
			errType = ErrorTypeRedirect
			return fmt.Errorf("%s: %w", path, re)
		}
		errType = ErrorTypeTransport
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	reqID = cleanText(resp.Header.Get("request-id"), c.settings.AdminKey, maxServerText)
	c.server.observe(resp.Header)
	capped := http.MaxBytesReader(nil, resp.Body, c.settings.MaxResponseBytes)
	if status < 200 || status > 299 {
		ae := &APIError{Endpoint: path, StatusCode: status, RequestID: reqID, RetryAfter: retryAfter(resp.Header)}
		var env errorEnvelope
		if json.NewDecoder(io.LimitReader(capped, 64<<10)).Decode(&env) == nil {
			ae.Type = cleanText(env.Error.Type, c.settings.AdminKey, maxServerText)
			ae.Message = cleanText(env.Error.Message, c.settings.AdminKey, maxServerText)
			ae.Code = cleanText(env.Error.Details.ErrorCode, c.settings.AdminKey, maxServerText)
			if ae.RequestID == "" && env.RequestID != nil {
				ae.RequestID = cleanText(*env.RequestID, c.settings.AdminKey, maxServerText)
			}
		}
		errType = ErrorTypeOf(ae.Type)
		if ae.Type == "" {
			ae.Type = http.StatusText(status)
		}
		reqID = ae.RequestID
		return ae
	}
	b := newBody(capped, c.settings.AdminKey, DecodedPerResponseByte*c.settings.MaxResponseBytes, 0)
	if err := decode(b); err != nil {
		errType = ErrorTypeDecode
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			err = ErrBodyTooLarge
		case errors.Is(err, io.EOF):
			err = io.ErrUnexpectedEOF
		}
		cut := b.readErr != nil || errors.Is(err, io.ErrUnexpectedEOF)
		return fmt.Errorf("%s: decoding the response: %w", path, &decodeError{err: err, transport: cut})
	}
	return nil
}

// clean makes an error fit to be logged and returned: a server can put
// anything in it (an echoed header, a value it could not parse), so the
// admin key is taken out and its length bounded. Its chain is kept for
// errors.Is and errors.As.
func (c *Client) clean(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if cleaned := cleanText(msg, c.settings.AdminKey, maxErrorText); cleaned != msg {
		return &cleanError{msg: cleaned, err: err}
	}
	return err
}

type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

// maxRetryAfter bounds the wait a retry-after can impose: a 429 pauses every
// report, and an absurd value must not stop the receiver for longer.
const maxRetryAfter = time.Hour

// retryAfter reads retry-after-ms, then retry-after as seconds or an HTTP
// date, like Anthropic's own SDKs.
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return boundedWait(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("retry-after")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return boundedWait(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return boundedWait(float64(time.Until(t)))
	}
	return 0
}

// boundedWait is ns nanoseconds within [0, maxRetryAfter]; NaN is 0. A
// float beyond int64 must not reach the conversion, whose result would be
// undefined.
func boundedWait(ns float64) time.Duration {
	switch {
	case !(ns > 0):
		return 0
	case ns >= float64(maxRetryAfter):
		return maxRetryAfter
	}
	return time.Duration(ns)
}
