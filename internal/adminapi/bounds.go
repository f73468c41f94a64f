// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unsafe"
)

// What one response may cost once decoded. max_response_bytes caps the
// bytes read; these cap what decoding them may hold, whatever the body
// contains: three bytes of `{},` decode into a row of more than a hundred.
const (
	// DecodedPerResponseByte: a page decodes into at most this many bytes
	// per byte of max_response_bytes, counted as the items' Go size plus
	// their JSON. Real pages decode into 0.8 (usage) to 1.4 (cost) times
	// their JSON (BENCHMARKS.md).
	DecodedPerResponseByte = 2
	// MaxCursorBytes bounds a next_page or last_id the client sends back.
	MaxCursorBytes = 4096
	// maxRecordEntries bounds the tools and the models of one Claude Code
	// record (the reference documents four tools).
	maxRecordEntries = 1024
	// toolEntryCost is what one decoded tool of a record costs, beyond its
	// JSON: a map slot and the key's string header.
	toolEntryCost = 64
)

// maxRowsPerBucket bounds the rows of one bucket: one row per combination
// of the grouped values, far fewer in any organization. A variable for the
// tests.
var maxRowsPerBucket = 1 << 20

// body is a 2xx response body as decoders read it: it counts what was read,
// refuses a body that carries the admin key (a server that echoes it would
// hand it to every metric, log and checkpoint downstream), and carries the
// bounds of what decoding it may hold.
type body struct {
	r    io.Reader
	key  []byte
	tail []byte // the last len(key)-1 bytes read, for a key split across reads
	n    int64  // bytes read
	// readErr is the transport's failure while the body was read (not
	// its end, not the cap).
	readErr error
	// escaped: the body has a \u escape, through which a string can
	// carry the key without its bytes appearing in the body.
	escaped bool
	last    byte // the last byte read
	// budget is what the items decoded so far may still cost, in bytes.
	budget int64
	// maxItems bounds the items of the page (buckets, records, list
	// items): the limit asked for; 0 for none.
	maxItems int
}

func newBody(r io.Reader, key string, budget int64, maxItems int) *body {
	return &body{r: r, key: []byte(key), budget: budget, maxItems: maxItems}
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var tooLarge *http.MaxBytesError
	if err != nil && err != io.EOF && !errors.As(err, &tooLarge) {
		b.readErr = err
	}
	if n > 0 && len(b.key) > 0 {
		if b.sawKey(p[:n]) {
			return 0, errCarriesKey
		}
		b.escaped = b.escaped || bytes.Contains(p[:n], []byte(`\u`)) || b.last == '\\' && p[0] == 'u'
		b.last = p[n-1]
	}
	b.n += int64(n)
	return n, err
}

var errCarriesKey = &shapeError{"the response carries the admin key; it is not read"}

// check refuses a decoded value that holds the key through an escape (its
// bytes were not in the body); only bodies with an escape are walked.
func (b *body) check(v any) error {
	if b.escaped && len(b.key) > 0 && holds(reflect.ValueOf(v), string(b.key)) {
		return errCarriesKey
	}
	return nil
}

var timeType = reflect.TypeFor[time.Time]()

// holds reports whether a string within v contains s.
func holds(v reflect.Value, s string) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.Contains(v.String(), s)
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && holds(v.Elem(), s)
	case reflect.Struct:
		if v.Type() == timeType {
			return false
		}
		for i := range v.NumField() {
			if holds(v.Field(i), s) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if holds(v.Index(i), s) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if holds(it.Key(), s) || holds(it.Value(), s) {
				return true
			}
		}
	}
	return false
}

// sawKey reports whether the key is in chunk, or straddles the previous
// read and this one; only the joint is copied.
func (b *body) sawKey(chunk []byte) bool {
	if bytes.Contains(chunk, b.key) {
		return true
	}
	k := len(b.key) - 1
	if len(b.tail) > 0 {
		joint := append(b.tail[:len(b.tail):len(b.tail)], chunk[:min(k, len(chunk))]...)
		if bytes.Contains(joint, b.key) {
			return true
		}
	}
	if len(chunk) >= k {
		b.tail = append(b.tail[:0], chunk[len(chunk)-k:]...)
	} else {
		b.tail = append(b.tail, chunk...)
		b.tail = b.tail[max(0, len(b.tail)-k):]
	}
	return false
}

// charge takes n bytes of decoded memory from the page's budget.
func (b *body) charge(n int64) error {
	b.budget -= n
	if b.budget < 0 {
		return &shapeError{fmt.Sprintf("the page decodes into more than %d times max_response_bytes", DecodedPerResponseByte)}
	}
	return nil
}

// bodyOf is the body a decoder was handed, or an unbounded one for a
// reader that is not a response body (a test's, a benchmark's).
func bodyOf(r io.Reader) *body {
	if b, ok := r.(*body); ok {
		return b
	}
	return &body{r: r, budget: 1<<63 - 1}
}

// pageDecoder walks a JSON page token by token and decodes its items one at
// a time, each charged to the body's budget, so that a page holds what its
// items cost and the decoder's buffer holds one item, not the whole body.
type pageDecoder struct {
	dec  *json.Decoder
	body *body
}

func newPageDecoder(r io.Reader) *pageDecoder {
	return &pageDecoder{dec: json.NewDecoder(r), body: bodyOf(r)}
}

func indexFold(names []string, key string) int {
	for i, n := range names {
		if strings.EqualFold(n, key) {
			return i
		}
	}
	return -1
}

// array walks an array, calling open once it opens and each for every
// element; more than max elements (when max > 0) is an error naming what. A
// null array is empty when nullable.
func (d *pageDecoder) array(what string, max int, nullable bool, open func(), each func() error) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil && nullable {
		return nil
	}
	if tok != json.Delim('[') {
		return &shapeError{fmt.Sprintf("expected %q, found %v", json.Delim('['), tok)}
	}
	if open != nil {
		open()
	}
	for n := 0; d.dec.More(); n++ {
		if max > 0 && n == max {
			return &shapeError{fmt.Sprintf("more than %d %s", max, what)}
		}
		if err := each(); err != nil {
			return err
		}
	}
	return d.delim(']')
}

// costly is an item whose decoded size is more than its Go size and its
// JSON: maps and slices inside it.
type costly interface{ extraCost() int64 }

// item decodes one value into v and charges what it holds: its Go size and
// its JSON (every string it holds is at most that).
func item[T any](d *pageDecoder, v *T) error {
	return d.charged(v, unsafe.Sizeof(*v))
}

func (d *pageDecoder) charged(ptr any, size uintptr) error {
	before := d.dec.InputOffset()
	if err := d.dec.Decode(ptr); err != nil {
		return err
	}
	cost := int64(size) + d.dec.InputOffset() - before
	if c, ok := ptr.(costly); ok {
		cost += c.extraCost()
	}
	return d.body.charge(cost)
}

var jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// into decodes a JSON value into v as encoding/json would, within the
// body's bounds. A struct that holds slices (a page, a bucket) is walked key
// by key, and each of its slices an element at a time, each element charged
// to the budget: at most maxItems elements in a slice of the value itself
// (depth 0: a page's "data"), maxRowsPerBucket in deeper ones (a bucket's
// "results"). Any other value (a row, a record, a time) is decoded whole and
// charged its Go size and its JSON. Stricter than encoding/json: a key sent
// twice (a second "data" to merge or overwrite the first) and a null slice
// of the value itself are errors. Keys match without case, as encoding/json
// matches them.
func (d *pageDecoder) into(v reflect.Value, depth int) error {
	t := v.Type()
	if !walkable(t) {
		return d.value(v.Addr().Interface())
	}
	if err := d.delim('{'); err != nil {
		return err
	}
	var names []string
	var index []int
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names, index = append(names, name), append(index, i)
	}
	seen := make([]bool, len(names))
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		i := indexFold(names, key)
		if i < 0 {
			var skip json.RawMessage
			if err := d.dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if seen[i] {
			return &shapeError{fmt.Sprintf("%q appears twice", names[i])}
		}
		seen[i] = true
		f := v.Field(index[i])
		if !isSlice(f.Type()) {
			err = d.value(f.Addr().Interface())
		} else {
			err = d.elements(f, names[i], depth)
		}
		if err != nil {
			return err
		}
	}
	return d.delim('}')
}

// elements decodes the array of a slice field s, one element at a time.
func (d *pageDecoder) elements(s reflect.Value, name string, depth int) error {
	most, what := maxRowsPerBucket, fmt.Sprintf("items in %q", name)
	if depth == 0 {
		most, what = d.body.maxItems, fmt.Sprintf("items in %q, the limit asked", name)
	}
	elem := s.Type().Elem()
	empty := func() { s.Set(reflect.MakeSlice(s.Type(), 0, 0)) } // [] is not null
	return d.array(what, most, depth > 0, empty, func() error {
		// Grow and SetLen rather than Append: no zero value to build and
		// copy per element; the capacity Grow adds is zeroed.
		s.Grow(1)
		s.SetLen(s.Len() + 1)
		e := s.Index(s.Len() - 1)
		if !walkable(elem) {
			return d.charged(e.Addr().Interface(), elem.Size())
		}
		if err := d.body.charge(int64(elem.Size())); err != nil {
			return err
		}
		return d.into(e, depth+1)
	})
}

// walkable: a struct that holds a slice, decoded by encoding/json's rules
// (no method of its own, no embedded field).
func walkable(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		return false
	}
	slice := false
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return false
		}
		slice = slice || f.IsExported() && isSlice(f.Type)
	}
	return slice
}

func isSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 && !reflect.PointerTo(t).Implements(jsonUnmarshalerType)
}

// value decodes one small value (a flag, a cursor, a time) into v; what it
// holds is charged as its JSON.
func (d *pageDecoder) value(v any) error {
	before := d.dec.InputOffset()
	if err := d.dec.Decode(v); err != nil {
		return err
	}
	return d.body.charge(d.dec.InputOffset() - before)
}

func (d *pageDecoder) delim(want json.Delim) error {
	return expectDelim(d.dec, want)
}

// end checks that nothing follows the page.
func (d *pageDecoder) end() error {
	return expectEOF(d.dec)
}
