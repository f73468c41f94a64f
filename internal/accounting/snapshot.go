// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package accounting

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"time"
)

// KeyCodec turns series keys into strings and back, for checkpoints.
type KeyCodec[K comparable] struct {
	Encode func(K) []string
	Decode func([]string) (K, error)
}

// The format: magic, varints, and a CRC-32 of everything before it, so
// that a flipped bit is an unreadable checkpoint, not a wrong count. Version
// 04 adds the corrections, the series' lifecycle and the settled past of the
// audit; 03 (read still) wrote each total as two unsigned varints (128
// bits) and a flag for a reported decrease; 02 (read still) wrote a total as
// one signed varint.
const (
	snapshotMagic   = "AUACCT04"
	snapshotMagicV3 = "AUACCT03"
	snapshotMagicV2 = "AUACCT02"
)

// ErrSnapshot reports a checkpoint that cannot be read.
var ErrSnapshot = errors.New("unreadable checkpoint")

// MarshalBinary encodes the sealed state: times, series with their totals,
// corrections and lifecycle, the ledger of buckets inside the window and
// the settled past.
func (s *Stream[K]) MarshalBinary(codec KeyCodec[K]) []byte {
	var buf bytes.Buffer
	buf.WriteString(snapshotMagic)
	w := func(v int64) { buf.Write(binary.AppendVarint(nil, v)) }
	u := func(v uint64) { buf.Write(binary.AppendUvarint(nil, v)) }
	totals := func(t *Totals) {
		for _, v := range t {
			u(v.hi)
			u(v.lo)
		}
	}
	w(s.start.UnixNano())
	w(s.watermark.UnixNano())
	w(s.lastEmit.UnixNano())
	w(unixNanoOrZero(s.lastAudit))
	w(s.auditFrom.UnixNano())
	w(int64(s.cfg.AuditWidth))
	u(uint64(len(s.keys)))
	for i, k := range s.keys {
		fields := codec.Encode(k)
		u(uint64(len(fields)))
		for _, f := range fields {
			u(uint64(len(f)))
			buf.WriteString(f)
		}
		sr := &s.series[i]
		totals(&sr.up)
		if sr.down != nil {
			buf.WriteByte(1)
			totals(sr.down)
		} else {
			buf.WriteByte(0)
		}
		w(sr.changed)
	}
	for _, m := range []map[int64]map[SeriesID]Counters{s.ledger, s.settled} {
		buckets := make([]int64, 0, len(m))
		for b := range m {
			buckets = append(buckets, b)
		}
		sort.Slice(buckets, func(i, j int) bool { return buckets[i] < buckets[j] })
		u(uint64(len(buckets)))
		for _, b := range buckets {
			entries := m[b]
			w(b)
			u(uint64(len(entries)))
			ids := make([]SeriesID, 0, len(entries))
			for id := range entries {
				ids = append(ids, id)
			}
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			for _, id := range ids {
				u(uint64(id))
				for _, v := range entries[id] {
					w(v)
				}
			}
		}
	}
	return binary.BigEndian.AppendUint32(buf.Bytes(), crc32.ChecksumIEEE(buf.Bytes()))
}

func unixNanoOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// RestoreStream rebuilds a stream from MarshalBinary's output. The bucket
// width and revision window come from cfg (the current configuration);
// cfg.Start is ignored in favour of the checkpoint's start.
func RestoreStream[K comparable](cfg Config, data []byte, codec KeyCodec[K]) (*Stream[K], error) {
	s, err := NewStream[K](cfg)
	if err != nil {
		return nil, err
	}
	if err := s.restore(data, codec); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	return s, nil
}

// Watermark reads the watermark of a checkpoint without restoring it: where
// a stream of another shape (another width or grouping) stopped.
func Watermark(data []byte) (time.Time, error) {
	body, err := snapshotBody(data)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	r := bytes.NewReader(body[len(snapshotMagic):])
	if _, err := binary.ReadVarint(r); err != nil { // the start
		return time.Time{}, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	wm, err := binary.ReadVarint(r)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	return time.Unix(0, wm).UTC(), nil
}

// snapshotBody checks a checkpoint's format and checksum and returns what
// the checksum covers.
func snapshotBody(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte(snapshotMagic)) && !bytes.HasPrefix(data, []byte(snapshotMagicV3)) && !bytes.HasPrefix(data, []byte(snapshotMagicV2)) ||
		len(data) < len(snapshotMagic)+4 {
		return nil, errors.New("not a checkpoint of this format")
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("checksum mismatch")
	}
	return body, nil
}

const maxSnapshotCount = 1 << 26 // a guard against corrupt lengths

func aligned(t time.Time, width time.Duration) bool { return t.Equal(t.Truncate(width)) }

func (s *Stream[K]) restore(data []byte, codec KeyCodec[K]) error {
	body, err := snapshotBody(data)
	if err != nil {
		return err
	}
	version := data[len(snapshotMagic)-1] - '0'
	br := bytes.NewReader(body[len(snapshotMagic):])
	r := bufio.NewReader(br)
	vi := func() int64 {
		if err != nil {
			return 0
		}
		var v int64
		v, err = binary.ReadVarint(r)
		return v
	}
	raw := func() uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = binary.ReadUvarint(r)
		return v
	}
	byteOf := func() byte {
		if err != nil {
			return 0
		}
		var b byte
		b, err = r.ReadByte()
		return b
	}
	total := func() Total {
		if version >= 3 {
			return Total{hi: raw(), lo: raw()}
		}
		v := vi()
		if err == nil && v < 0 {
			err = fmt.Errorf("negative total %d", v)
		}
		return Total{lo: uint64(v)}
	}
	vu := func() uint64 { // a count or a length: bounded
		v := raw()
		if err == nil && (v > maxSnapshotCount || v > uint64(len(body))) {
			err = fmt.Errorf("count %d out of range", v)
		}
		return v
	}
	w := s.cfg.BucketWidth
	start, watermark, lastEmit := time.Unix(0, vi()).UTC(), time.Unix(0, vi()).UTC(), time.Unix(0, vi()).UTC()
	lastAudit, auditFrom, auditWidth := time.Time{}, watermark, time.Duration(0)
	if version >= 4 {
		if la := vi(); la != 0 {
			lastAudit = time.Unix(0, la).UTC()
		}
		auditFrom, auditWidth = time.Unix(0, vi()).UTC(), time.Duration(vi())
	}
	if err == nil && (!aligned(start, w) || !aligned(watermark, w) || watermark.Before(start) || lastEmit.Before(start) ||
		auditFrom.Before(start) || auditFrom.After(watermark)) {
		return errors.New("times do not match the bucket width or each other")
	}
	n := vu()
	keys := make([]K, 0, min(n, 1<<16))
	ser := make([]series, 0, min(n, 1<<16))
	ids := map[K]SeriesID{}
	for i := uint64(0); i < n && err == nil; i++ {
		nf := vu()
		fields := make([]string, 0, min(nf, 64))
		for j := uint64(0); j < nf && err == nil; j++ {
			l := vu()
			if err != nil {
				break
			}
			b := make([]byte, l)
			if _, e := io.ReadFull(r, b); e != nil {
				err = e
			}
			fields = append(fields, string(b))
		}
		sr := series{changed: lastEmit.UnixNano()}
		for j := range sr.up {
			sr.up[j] = total()
		}
		if version >= 4 {
			if byteOf() == 1 {
				sr.down = &Totals{}
				for j := range sr.down {
					sr.down[j] = total()
				}
			}
			sr.changed = vi()
		}
		if err != nil {
			break
		}
		k, e := codec.Decode(fields)
		if e != nil {
			return e
		}
		if _, dup := ids[k]; dup {
			return errors.New("a series appears twice")
		}
		ids[k] = SeriesID(len(keys))
		keys = append(keys, k)
		ser = append(ser, sr)
	}
	buckets := func(width time.Duration, check func(time.Time) bool) map[int64]map[SeriesID]Counters {
		out := map[int64]map[SeriesID]Counters{}
		nb := vu()
		for i := uint64(0); i < nb && err == nil; i++ {
			b := vi()
			if bt := time.Unix(b, 0).UTC(); err == nil && (!aligned(bt, width) || !check(bt)) {
				err = fmt.Errorf("bucket %s is not where it belongs", bt)
			}
			if _, dup := out[b]; dup && err == nil {
				err = errors.New("a bucket appears twice")
			}
			ne := vu()
			m := make(map[SeriesID]Counters, min(ne, 1<<16))
			for j := uint64(0); j < ne && err == nil; j++ {
				id := vu()
				var c Counters
				for k := range c {
					c[k] = vi()
					if err == nil && c[k] < 0 {
						err = fmt.Errorf("negative value %d", c[k])
					}
				}
				if version == 3 || version == 2 {
					byteOf() // the flag of a decrease reported once
				}
				if err == nil && id >= uint64(len(keys)) {
					err = fmt.Errorf("a bucket refers to series %d of %d", id, len(keys))
				}
				m[SeriesID(id)] = c
			}
			out[b] = m
		}
		return out
	}
	ledger := buckets(w, func(t time.Time) bool { return !t.Before(watermark) })
	var settled map[int64]map[SeriesID]Counters
	if version >= 4 {
		settled = buckets(max(auditWidth, time.Second), func(t time.Time) bool { return t.Before(watermark) })
	}
	if err != nil {
		return err
	}
	if _, e := r.ReadByte(); e != io.EOF {
		return errors.New("trailing bytes")
	}
	s.start, s.watermark, s.lastEmit, s.lastAudit = start, watermark, lastEmit, lastAudit
	s.keys, s.series, s.ids, s.ledger = keys, ser, ids, ledger
	switch {
	case s.cfg.AuditWidth == 0:
		s.settled = nil
	case auditWidth == s.cfg.AuditWidth && settled != nil:
		s.settled, s.auditFrom = settled, auditFrom
	default:
		// The settled past was not kept at this width: an audit starts
		// with what becomes final from now on.
		s.settled, s.auditFrom = map[int64]map[SeriesID]Counters{}, watermark
	}
	return nil
}
