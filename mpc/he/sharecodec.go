package he

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
)

// Protocol shares from committee members are encoded as raw coefficient
// blocks whose shape the receiver already knows: it allocates the share
// locally from the parameters and reads exactly that many reduced
// coefficients. Unlike lattigo's own encoding, no length inside the message
// ever drives an allocation.
//
//	kind u8 | tag u64 (e.g. the Galois element) | coefficients u64...

// shareKind tags each protocol message so a share cannot be mistaken for
// another of the same size.
type shareKind uint8

const (
	kindShamir shareKind = iota + 1
	kindCKG
	kindRKG1
	kindRKG2
	kindGKG
	kindPCKS
	kindPK
	kindRLK
	kindGK
	kindRecipientSK
)

const shareHeader = 1 + 8

// polyRef is one polynomial of a share with the moduli of its rows.
type polyRef struct {
	poly   ring.Poly
	moduli []uint64
}

type shapeBuilder struct {
	q, p []uint64
	refs []polyRef
}

func newShape(params rlwe.Parameters) *shapeBuilder {
	return &shapeBuilder{q: params.Q(), p: params.P()}
}

func (b *shapeBuilder) polyQ(p ring.Poly) *shapeBuilder {
	b.refs = append(b.refs, polyRef{p, b.q[:p.Level()+1]})
	return b
}

func (b *shapeBuilder) polyQP(p ringqp.Poly) *shapeBuilder {
	b.polyQ(p.Q)
	if p.P.Level() >= 0 && len(p.P.Coeffs) > 0 {
		b.refs = append(b.refs, polyRef{p.P, b.p[:p.P.Level()+1]})
	}
	return b
}

func (b *shapeBuilder) gadget(g rlwe.GadgetCiphertext) *shapeBuilder {
	for _, row := range g.Value {
		for _, vec := range row {
			for _, qp := range vec {
				b.polyQP(qp)
			}
		}
	}
	return b
}

func (b *shapeBuilder) size(n int) int { return shareHeader + b.coeffSize(n) }

// coeffSize is the length of the coefficient block alone.
func (b *shapeBuilder) coeffSize(n int) int {
	total := 0
	for _, r := range b.refs {
		total += len(r.moduli) * n * 8
	}
	return total
}

// encode writes the share described by the builder.
func (b *shapeBuilder) encode(kind shareKind, tag uint64, n int) []byte {
	return b.appendTo(make([]byte, 0, b.size(n)), kind, tag, n)
}

// appendTo appends the encoding to out. The appended bytes are written
// once: they are not zeroed first (every one is overwritten), which at
// secure parameters saves a pass over hundreds of megabytes per setup
// (key records, Galois key shares).
func (b *shapeBuilder) appendTo(out []byte, kind shareKind, tag uint64, n int) []byte {
	start := len(out)
	out = slices.Grow(out, b.size(n))[:start+b.size(n)]
	dst := out[start:]
	dst[0] = byte(kind)
	binary.LittleEndian.PutUint64(dst[1:9], tag)
	b.putCoeffs(dst[shareHeader:], n)
	return out
}

// putCoeffs writes the coefficient block into dst, which has coeffSize(n)
// bytes.
func (b *shapeBuilder) putCoeffs(dst []byte, n int) {
	off := 0
	for _, r := range b.refs {
		for i, q := range r.moduli {
			row := dst[off : off+8*n]
			for j, c := range r.poly.Coeffs[i][:n] {
				// Some lattigo routines leave coefficients lazily reduced
				// (in [0, 2q)); the wire format is canonical.
				if c >= q {
					c %= q
				}
				binary.LittleEndian.PutUint64(row[8*j:], c)
			}
			off += 8 * n
		}
	}
}

// header checks an encoded share's length (before anything is read) and kind,
// and returns its tag.
func (b *shapeBuilder) header(kind shareKind, data []byte, n int) (uint64, error) {
	if want := b.size(n); len(data) != want {
		return 0, fmt.Errorf("he: share of kind %d has %d bytes, expected %d", kind, len(data), want)
	}
	if shareKind(data[0]) != kind {
		return 0, fmt.Errorf("he: share of kind %d where kind %d was expected", data[0], kind)
	}
	return binary.LittleEndian.Uint64(data[1:9]), nil
}

// decode fills the share described by the builder from untrusted bytes and
// returns the tag. The length is checked before any coefficient is read.
func (b *shapeBuilder) decode(kind shareKind, data []byte, n int) (uint64, error) {
	tag, err := b.header(kind, data, n)
	if err != nil {
		return 0, err
	}
	if err := b.readCoeffs(data[shareHeader:], n); err != nil {
		return 0, fmt.Errorf("he: share of kind %d: %w", kind, err)
	}
	return tag, nil
}

// readCoeffs fills the polynomials the builder describes from a coefficient
// block of exactly coeffSize(n) bytes (checked by the caller), rejecting any
// coefficient not reduced modulo its prime.
func (b *shapeBuilder) readCoeffs(src []byte, n int) error {
	off := 0
	for _, r := range b.refs {
		for i, q := range r.moduli {
			block := src[off : off+8*n]
			row := r.poly.Coeffs[i][:n]
			for j := range row {
				c := binary.LittleEndian.Uint64(block[8*j:])
				if c >= q {
					return errors.New("coefficient not reduced")
				}
				row[j] = c
			}
			off += 8 * n
		}
	}
	return nil
}

// decodeAdd adds the share encoded in untrusted bytes to the share the
// builder describes (the aggregate), coefficient-wise modulo each prime,
// which is what every mhe AggregateShares does. Fusing the decoding with the
// aggregation saves a pass over shares of tens of megabytes. The aggregate
// may be lazily reduced on entry ([0, 2q)); it is fully reduced on return,
// except when an error is returned, in which case it must be discarded.
func (b *shapeBuilder) decodeAdd(kind shareKind, data []byte, n int) (uint64, error) {
	tag, err := b.header(kind, data, n)
	if err != nil {
		return 0, err
	}
	off := shareHeader
	for _, r := range b.refs {
		for i, q := range r.moduli {
			src := data[off : off+8*n]
			row := r.poly.Coeffs[i][:n]
			for j := range row {
				c := binary.LittleEndian.Uint64(src[8*j:])
				if c >= q {
					return 0, fmt.Errorf("he: share of kind %d: coefficient not reduced", kind)
				}
				v := row[j] + c // < 3q < 2^64 for q < 2^62
				if v >= q {
					v -= q
				}
				if v >= q {
					v -= q
				}
				row[j] = v
			}
			off += 8 * n
		}
	}
	return tag, nil
}
