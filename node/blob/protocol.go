package blob

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ProtocolID is the blob protocol: the client writes a 32-byte hash; the
// server answers one status byte, then, if found, a uvarint length and the
// object.
const ProtocolID protocol.ID = "/cohort/blob/1"

const (
	statusFound    = 0
	statusNotFound = 1
	serveTimeout   = 2 * time.Minute
)

// Serve answers blob requests from h's peers (the host's connection gater
// admits members only) until the host closes.
func Serve(h host.Host, s *Store, log *slog.Logger) {
	h.SetStreamHandler(ProtocolID, func(st network.Stream) {
		defer st.Close()
		_ = st.SetDeadline(time.Now().Add(serveTimeout))
		var want Hash
		if _, err := io.ReadFull(st, want[:]); err != nil {
			_ = st.Reset()
			return
		}
		data, err := s.Get(want)
		w := bufio.NewWriter(st)
		if err != nil {
			_ = w.WriteByte(statusNotFound)
			_ = w.Flush()
			return
		}
		_ = w.WriteByte(statusFound)
		var lb [binary.MaxVarintLen64]byte
		_, _ = w.Write(lb[:binary.PutUvarint(lb[:], uint64(len(data)))])
		_, _ = w.Write(data)
		if err := w.Flush(); err != nil && log != nil {
			log.Debug("blob: serve failed", "peer", st.Conn().RemotePeer(), "err", err)
		}
	})
}

// Fetch asks peer p for the object h, checks that it hashes to h and stores it.
func Fetch(ctx context.Context, hst host.Host, s *Store, p peer.ID, h Hash) ([]byte, error) {
	st, err := hst.NewStream(ctx, p, ProtocolID)
	if err != nil {
		return nil, fmt.Errorf("blob %x from %s: %w", h[:8], p, err)
	}
	defer st.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	if _, err := st.Write(h[:]); err != nil {
		return nil, fmt.Errorf("blob %x from %s: %w", h[:8], p, err)
	}
	_ = st.CloseWrite()
	r := bufio.NewReader(st)
	status, err := r.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("blob %x from %s: %w", h[:8], p, err)
	}
	if status == statusNotFound {
		return nil, fmt.Errorf("blob %x from %s: %w", h[:8], p, ErrNotFound)
	}
	if status != statusFound {
		return nil, fmt.Errorf("blob %x from %s: bad status %d", h[:8], p, status)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("blob %x from %s: %w", h[:8], p, err)
	}
	if n > MaxBlobBytes {
		return nil, fmt.Errorf("blob %x from %s: announced %d bytes, limit %d", h[:8], p, n, MaxBlobBytes)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("blob %x from %s: %w", h[:8], p, err)
	}
	if Hash(sha256.Sum256(data)) != h {
		return nil, fmt.Errorf("blob %x from %s: content does not match its hash", h[:8], p)
	}
	if _, err := s.Put(data); err != nil {
		return nil, err
	}
	return data, nil
}

// ParseHash decodes a hex hash.
func ParseHash(b []byte) (Hash, error) {
	var h Hash
	if len(b) != len(h) {
		return h, errors.New("blob hash must be 32 bytes")
	}
	copy(h[:], b)
	return h, nil
}
