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
// 03 writes each total as two unsigned varints (128 bits); version 02, read
// still, wrote it as one signed varint.
const (
	snapshotMagic   = "AUACCT03"
	snapshotMagicV2 = "AUACCT02"
)

// ErrSnapshot reports a checkpoint that cannot be read.
var ErrSnapshot = errors.New("unreadable checkpoint")

// MarshalBinary encodes the sealed state: start, watermark, last
// emission, series, totals and the ledger of buckets inside the window.
func (s *Stream[K]) MarshalBinary(codec KeyCodec[K]) []byte {
	var buf bytes.Buffer
	buf.WriteString(snapshotMagic)
	w := func(v int64) { buf.Write(binary.AppendVarint(nil, v)) }
	u := func(v uint64) { buf.Write(binary.AppendUvarint(nil, v)) }
	w(s.start.UnixNano())
	w(s.watermark.UnixNano())
	w(s.lastEmit.UnixNano())
	u(uint64(len(s.keys)))
	for i, k := range s.keys {
		fields := codec.Encode(k)
		u(uint64(len(fields)))
		for _, f := range fields {
			u(uint64(len(f)))
			buf.WriteString(f)
		}
		for _, v := range s.totals[i] {
			u(v.hi)
			u(v.lo)
		}
	}
	buckets := make([]int64, 0, len(s.ledger))
	for b := range s.ledger {
		buckets = append(buckets, b)
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i] < buckets[j] })
	u(uint64(len(buckets)))
	for _, b := range buckets {
		entries := s.ledger[b]
		w(b)
		u(uint64(len(entries)))
		ids := make([]SeriesID, 0, len(entries))
		for id := range entries {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			e := entries[id]
			u(uint64(id))
			for _, v := range e.counted {
				w(v)
			}
			if e.corrected {
				buf.WriteByte(1)
			} else {
				buf.WriteByte(0)
			}
		}
	}
	return binary.BigEndian.AppendUint32(buf.Bytes(), crc32.ChecksumIEEE(buf.Bytes()))
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
	if !bytes.HasPrefix(data, []byte(snapshotMagic)) && !bytes.HasPrefix(data, []byte(snapshotMagicV2)) || len(data) < len(snapshotMagic)+4 {
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
	v2 := bytes.HasPrefix(data, []byte(snapshotMagicV2))
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
	total := func() Total {
		if !v2 {
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
	start, watermark, lastEmit := time.Unix(0, vi()).UTC(), time.Unix(0, vi()).UTC(), time.Unix(0, vi()).UTC()
	if err == nil && (!aligned(start, s.width) || !aligned(watermark, s.width) || watermark.Before(start) || lastEmit.Before(start)) {
		return errors.New("times do not match the bucket width or each other")
	}
	n := vu()
	keys := make([]K, 0, min(n, 1<<16))
	totals := make([]Totals, 0, min(n, 1<<16))
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
		var t Totals
		for j := range t {
			t[j] = total()
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
		totals = append(totals, t)
	}
	ledger := map[int64]map[SeriesID]*entry{}
	nb := vu()
	for i := uint64(0); i < nb && err == nil; i++ {
		b := vi()
		if bt := time.Unix(b, 0).UTC(); err == nil && (!aligned(bt, s.width) || bt.Before(watermark)) {
			err = fmt.Errorf("ledger bucket %s is not a bucket after the watermark", bt)
		}
		if _, dup := ledger[b]; dup && err == nil {
			err = errors.New("a ledger bucket appears twice")
		}
		ne := vu()
		m := make(map[SeriesID]*entry, min(ne, 1<<16))
		for j := uint64(0); j < ne && err == nil; j++ {
			id := vu()
			e := &entry{}
			for k := range e.counted {
				e.counted[k] = vi()
			}
			var flag byte
			if err == nil {
				flag, err = r.ReadByte()
			}
			e.corrected = flag == 1
			if err == nil && id >= uint64(len(keys)) {
				err = fmt.Errorf("ledger refers to series %d of %d", id, len(keys))
			}
			m[SeriesID(id)] = e
		}
		ledger[b] = m
	}
	if err != nil {
		return err
	}
	if _, e := r.ReadByte(); e != io.EOF {
		return errors.New("trailing bytes")
	}
	s.start, s.watermark, s.lastEmit = start, watermark, lastEmit
	s.keys, s.totals, s.ids, s.ledger = keys, totals, ids, ledger
	return nil
}
