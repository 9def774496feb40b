package zk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Untrusted ceremony files are decoded by gnark's mpcsetup ReadFrom, which
// trusts the sizes it reads (a crafted domain size or slice length would make
// it allocate gigabytes). We therefore compare a file against the layout of
// the object it must follow: gnark's encoder issues one Write per point and
// one per integer, so recording the Write sizes of the previous object gives
// the exact layout. A file is accepted for decoding only if it has the same
// total size, every integer (sizes, counts, lengths: writes of ≤ 8 bytes)
// is byte-identical, and every point is in compressed form (so the decoder
// reads exactly the bytes we accounted for). Decoding then cannot allocate
// more than the previous object did, and a panic becomes an error.

type layout struct {
	// freeTail: the last segment is a contribution's challenge hash.
	freeTail bool
	size     int64
	segments []int
	template []byte
}

type layoutWriter struct {
	buf      bytes.Buffer
	segments []int
}

func (w *layoutWriter) Write(p []byte) (int, error) {
	w.segments = append(w.segments, len(p))
	return w.buf.Write(p)
}

func recordLayout(v io.WriterTo, freeTail bool) (*layout, error) {
	var w layoutWriter
	if _, err := v.WriteTo(&w); err != nil {
		return nil, fmt.Errorf("record layout: %w", err)
	}
	return &layout{freeTail: freeTail, size: int64(w.buf.Len()), segments: w.segments, template: w.buf.Bytes()}, nil
}

// check validates b against the layout. The last segment of a contribution
// is its 32-byte challenge (free bytes); point segments are 32 or 64 bytes.
func (l *layout) check(b []byte) error {
	if int64(len(b)) != l.size {
		return fmt.Errorf("file is %d bytes, want %d", len(b), l.size)
	}
	off := 0
	for i, s := range l.segments {
		seg := b[off : off+s]
		switch {
		case s <= 8:
			if !bytes.Equal(seg, l.template[off:off+s]) {
				return fmt.Errorf("size field at offset %d differs from the expected layout", off)
			}
		case l.freeTail && i == len(l.segments)-1:
			// challenge hash: any bytes
		case s == 32 || s == 64:
			if seg[0]>>6 == 0 {
				return fmt.Errorf("point at offset %d is not compressed", off)
			}
		default:
			return fmt.Errorf("unexpected %d-byte segment at offset %d", s, off)
		}
		off += s
	}
	return nil
}

// decode checks b and decodes it into v.
func (l *layout) decode(b []byte, v io.ReaderFrom) (err error) {
	if err := l.check(b); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panicked: %v", r)
		}
	}()
	n, err := v.ReadFrom(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if n != int64(len(b)) {
		return errors.New("decoder did not consume the whole file")
	}
	return nil
}
