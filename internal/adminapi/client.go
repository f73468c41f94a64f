package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Version is sent in the User-Agent header as the receiver's version.
const Version = "0.1.0"

// AnthropicVersion is the API version every example of the Admin API uses.
const AnthropicVersion = "2023-06-01"

// RetryPolicy bounds how failed requests are repeated. The scrape's context
// bounds it too: nothing waits past its deadline.
type RetryPolicy struct {
	Enabled             bool
	InitialInterval     time.Duration
	MaxInterval         time.Duration
	Multiplier          float64
	RandomizationFactor float64
	MaxElapsedTime      time.Duration // 0 = only the context bounds retries
}

// Settings configure a Client.
type Settings struct {
	Endpoint         string // base URL, e.g. https://api.anthropic.com
	AdminKey         string
	UserAgent        string
	MaxResponseBytes int64
	MaxPages         int
	Retry            RetryPolicy
	Limiter          *Limiter
	Logger           *zap.Logger
	Observer         Observer // optional, told about every request
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

	mu        sync.Mutex
	limitCaps map[string]int // per endpoint: a smaller limit after a page outgrew the cap
}

func (c *Client) limitCap(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limitCaps[path]
}

func (c *Client) setLimitCap(path string, limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limitCaps == nil {
		c.limitCaps = map[string]int{}
	}
	c.limitCaps[path] = limit
}

// New wraps an HTTP client built from confighttp. It installs a redirect
// policy that never sends the admin key to another host.
func New(hc *http.Client, s Settings) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(s.Endpoint, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an absolute URL", s.Endpoint)
	}
	if s.Logger == nil {
		s.Logger = zap.NewNop()
	}
	if s.Limiter == nil {
		s.Limiter = NewLimiter(60, 10)
	}
	if s.MaxPages <= 0 {
		s.MaxPages = 1000
	}
	if s.MaxResponseBytes <= 0 {
		s.MaxResponseBytes = 256 << 20
	}
	c := *hc
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// net/http forwards custom headers such as x-api-key on redirects;
		// only Authorization and cookies are dropped for other hosts.
		if req.URL.Host != base.Host || req.URL.Scheme != base.Scheme {
			return &redirectError{fmt.Errorf("refusing a redirect to %s://%s: the admin key is only sent to the configured endpoint", req.URL.Scheme, req.URL.Host)}
		}
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		return nil
	}
	return &Client{http: &c, base: base, settings: s, clock: realClock{}}, nil
}

// decodeFunc reads a 2xx body.
type decodeFunc func(io.Reader) error

// callbackError carries an error of the caller's callback out of a decode:
// it is not a failed request, and is never retried.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// decodeJSON decodes one JSON value into out; anything after it is an
// error, not something to ignore.
func decodeJSON(out any) decodeFunc {
	return func(r io.Reader) error {
		dec := json.NewDecoder(r)
		if err := dec.Decode(out); err != nil {
			return err
		}
		return expectEOF(dec)
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
// request decodes again from the start: callbacks see its data again.
func (c *Client) get(ctx context.Context, path string, params url.Values, decode decodeFunc) error {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = params.Encode()
	started := c.clock.Now()
	policy := c.settings.Retry
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, path, u.String(), decode)
		if err == nil {
			return nil
		}
		var cb *callbackError
		if errors.As(err, &cb) {
			return cb.err
		}
		if ctx.Err() != nil || !policy.Enabled || !retryable(err) {
			return err
		}
		wait := backoff(policy, attempt)
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			wait = ae.RetryAfter
		}
		if ae != nil && ae.StatusCode == http.StatusTooManyRequests {
			// Every report shares the limiter: a 429 holds all of them back.
			c.settings.Limiter.PauseUntil(c.clock.Now().Add(wait))
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

func backoff(p RetryPolicy, attempt int) time.Duration {
	d := float64(p.InitialInterval)
	for i := 1; i < attempt; i++ {
		d *= max(p.Multiplier, 1)
		if p.MaxInterval > 0 && d > float64(p.MaxInterval) {
			d = float64(p.MaxInterval)
			break
		}
	}
	if r := p.RandomizationFactor; r > 0 {
		d *= 1 - r + 2*r*rand.Float64()
	}
	return time.Duration(d)
}

// retryable: the statuses the API documents as transient, and transport
// failures (connection reset, a body cut short), since every request is an
// idempotent GET.
func retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return Retryable(ae.StatusCode)
	}
	if errors.Is(err, ErrBodyTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var redirect *redirectError
	var shape *shapeError
	return !errors.As(err, &se) && !errors.As(err, &te) && !errors.As(err, &redirect) && !errors.As(err, &shape)
}

type redirectError struct{ err error }

func (e *redirectError) Error() string { return e.err.Error() }
func (e *redirectError) Unwrap() error { return e.err }

func (c *Client) once(ctx context.Context, path, rawURL string, decode decodeFunc) (err error) {
	waitStart := c.clock.Now()
	if err := c.settings.Limiter.Wait(ctx); err != nil {
		return err
	}
	if o := c.settings.Observer; o != nil {
		if d := c.clock.Now().Sub(waitStart); d > 0 {
			o.RateLimitWait(d)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("x-api-key", c.settings.AdminKey)
	req.Header.Set("anthropic-version", AnthropicVersion)
	req.Header.Set("accept", "application/json")
	if c.settings.UserAgent != "" {
		req.Header.Set("User-Agent", c.settings.UserAgent)
	}
	start := time.Now()
	status, errType, reqID := 0, "", ""
	defer func() {
		err = c.redact(err)
		if o := c.settings.Observer; o != nil {
			o.Request(path, status, errType, time.Since(start))
		}
		var cb *callbackError
		if err != nil && ctx.Err() == nil && !errors.As(err, &cb) {
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
			errType = "redirect_refused"
			return fmt.Errorf("%s: %w", path, re)
		}
		errType = "transport"
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	reqID = resp.Header.Get("request-id")
	body := &capReader{r: resp.Body, left: c.settings.MaxResponseBytes}
	if status < 200 || status > 299 {
		ae := &APIError{Endpoint: path, StatusCode: status, RequestID: reqID, RetryAfter: retryAfter(resp.Header)}
		var env ErrorEnvelope
		if json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&env) == nil {
			ae.Type, ae.Message = env.Error.Type, env.Error.Message
			if ae.RequestID == "" && env.RequestID != nil {
				ae.RequestID = *env.RequestID
			}
		}
		if ae.Type == "" {
			ae.Type = http.StatusText(status)
		}
		errType, reqID = ae.Type, ae.RequestID
		return ae
	}
	if err := decode(body); err != nil {
		var cb *callbackError
		if errors.As(err, &cb) {
			return err
		}
		errType = "decode"
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%s: decoding the response: %w", path, err)
	}
	return nil
}

// redact removes the admin key from anything a server might echo back.
func (c *Client) redact(err error) error {
	if err == nil || c.settings.AdminKey == "" || !strings.Contains(err.Error(), c.settings.AdminKey) {
		return err
	}
	var ae *APIError
	if errors.As(err, &ae) {
		cp := *ae
		cp.Message = strings.ReplaceAll(cp.Message, c.settings.AdminKey, "[REDACTED]")
		return &cp
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.settings.AdminKey, "[REDACTED]"))
}

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

// capReader fails with ErrBodyTooLarge instead of silently truncating.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, ErrBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
